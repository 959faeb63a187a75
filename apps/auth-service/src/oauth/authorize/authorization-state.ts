import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { REDIS_KEY_PREFIX } from '@jwt-ms/contracts';
import { REDIS_CLIENT, ProblemException, withTimeout, type RedisClient } from '@jwt-ms/service-core';
import { REDIS_TIMEOUT_MS } from '@jwt-ms/auth-jwt';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../../auth-service.config';

/**
 * Key prefixes of the authorization-code flow's state in Redis, each followed
 * by the hex SHA-256 of a random value that only the browser or the client
 * holds: a reader of Redis (the verifiers' user may GET `jwtms:*` keys) learns
 * no code, cookie or CSRF token it could present.
 */
export const AUTHORIZATION_KEY_PREFIXES = {
  /** An authorization request waiting at the login page. */
  pending: `${REDIS_KEY_PREFIX}authz:pending:`,
  /** The issuer's login session of a browser (its cookie). */
  session: `${REDIS_KEY_PREFIX}authz:session:`,
  /** An authorization code not yet redeemed. */
  code: `${REDIS_KEY_PREFIX}authz:code:`,
  /** An authorization code redeemed: kept so that a second use is recognised (RFC 6749 §4.1.2). */
  redeemed: `${REDIS_KEY_PREFIX}authz:redeemed:`,
} as const;

/** A validated authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8707 §2). */
export interface AuthorizationRequest {
  clientId: string;
  /** The `redirect_uri` exactly as sent: the token request must repeat it (RFC 6749 §4.1.3). */
  redirectUri: string;
  state: string;
  /** BASE64URL(SHA-256(code_verifier)), 43 characters (RFC 7636 §4.2, `S256` only). */
  codeChallenge: string;
  /** The scopes asked for, within the client's; undefined: the client's default (all it may have). */
  scope: string | undefined;
  /** The audiences, resolved from `resource` within the client's (RFC 8707 §2). */
  audience: string[];
}

/** The issuer's login session: who signed in at the login page, and the session (`sid`) their tokens carry. */
export interface LoginSession {
  accountId: string;
  sessionId: string;
  /** Whole seconds since the epoch: the `auth_time` of every token of the session. */
  authTime: number;
}

/** What an authorization code stands for, until it is redeemed. */
export interface AuthorizationCodeRecord extends LoginSession {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  scopes: string[];
  audience: string[];
}

/** The outcome of {@link AuthorizationState.redeemCode}. */
export type RedeemedCode =
  | { outcome: 'redeemed'; record: AuthorizationCodeRecord }
  | { outcome: 'unknown' }
  /** Redeemed before: the session it was issued in must be revoked (RFC 6749 §4.1.2, RFC 9700 §4.2.4). */
  | { outcome: 'replayed'; sessionId: string; accountId: string };

/**
 * The state of the authorization-code flow (RFC 6749 §4.1), in Redis so that
 * every issuer replica shares it and nothing outlives its purpose: a pending
 * request and a login session for `LOGIN_SESSION_TTL_SECONDS`, a code for
 * `AUTHORIZATION_CODE_TTL_SECONDS` (at most 60 s), a redeemed code's marker for
 * an access token's life. Every value handed out is 256 random bits
 * (base64url), stored only as its SHA-256.
 *
 * Every method throws ProblemException 503 `dependency_unavailable` (with
 * `Retry-After: 1`) when Redis does not answer within REDIS_TIMEOUT_MS
 * milliseconds.
 */
@Injectable()
export class AuthorizationState {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
  ) {}

  /**
   * Keeps a request that is shown the login page.
   *
   * @param request the validated request
   * @param browser the browser's binding (its cookie, see {@link newSecret}): only that browser may post the form
   * @returns `requestId` (a hidden form field) and `csrfToken` (another), both needed to post the form
   */
  async savePending(request: AuthorizationRequest, browser: string): Promise<{ requestId: string; csrfToken: string }> {
    const requestId = newSecret();
    const csrfToken = newSecret();
    const value = JSON.stringify({ request, browser: digest(browser), csrf: digest(csrfToken) });
    await this.bounded(() =>
      this.redis.set(AUTHORIZATION_KEY_PREFIXES.pending + digest(requestId), value, {
        EX: this.config.LOGIN_SESSION_TTL_SECONDS,
      }),
    );
    return { requestId, csrfToken };
  }

  /**
   * The pending request a posted login form names, if the form came from the
   * page shown to this browser: its binding cookie and the form's CSRF token
   * both match (a synchronizer token bound to the browser; OWASP CSRF cheat sheet).
   *
   * @returns the request, `missing` (expired, or never shown), or `forged` (a binding or token that does not match)
   */
  async findPending(
    requestId: string,
    browser: string | undefined,
    csrfToken: string,
  ): Promise<AuthorizationRequest | 'missing' | 'forged'> {
    const raw = await this.bounded(() => this.redis.get(AUTHORIZATION_KEY_PREFIXES.pending + digest(requestId)));
    if (raw === null) return 'missing';
    const pending = JSON.parse(String(raw)) as { request: AuthorizationRequest; browser: string; csrf: string };
    const browserMatches = browser !== undefined && sameDigest(pending.browser, digest(browser));
    return browserMatches && sameDigest(pending.csrf, digest(csrfToken)) ? pending.request : 'forged';
  }

  /** Forgets a pending request once it is answered, so its form cannot be posted twice. */
  async dropPending(requestId: string): Promise<void> {
    await this.bounded(() => this.redis.del(AUTHORIZATION_KEY_PREFIXES.pending + digest(requestId)));
  }

  /**
   * Starts the issuer's login session of a browser.
   *
   * @returns the cookie's value
   */
  async startSession(session: LoginSession): Promise<string> {
    const cookie = newSecret();
    await this.bounded(() =>
      this.redis.set(AUTHORIZATION_KEY_PREFIXES.session + digest(cookie), JSON.stringify(session), {
        EX: this.config.LOGIN_SESSION_TTL_SECONDS,
      }),
    );
    return cookie;
  }

  /** @returns the login session a cookie names, or null (none, expired) */
  async findSession(cookie: string): Promise<LoginSession | null> {
    const raw = await this.bounded(() => this.redis.get(AUTHORIZATION_KEY_PREFIXES.session + digest(cookie)));
    return raw === null ? null : (JSON.parse(String(raw)) as LoginSession);
  }

  /** Ends a login session (its session was revoked, or its account is gone). */
  async endSession(cookie: string): Promise<void> {
    await this.bounded(() => this.redis.del(AUTHORIZATION_KEY_PREFIXES.session + digest(cookie)));
  }

  /**
   * Issues an authorization code (RFC 6749 §4.1.2): single use, bound to the
   * client, the redirect URI and the code challenge, living
   * `AUTHORIZATION_CODE_TTL_SECONDS`.
   *
   * @returns the code (43 base64url characters)
   */
  async issueCode(record: AuthorizationCodeRecord): Promise<string> {
    const code = newSecret();
    await this.bounded(() =>
      this.redis.set(AUTHORIZATION_KEY_PREFIXES.code + digest(code), JSON.stringify(record), {
        EX: this.config.AUTHORIZATION_CODE_TTL_SECONDS,
        NX: true,
      }),
    );
    return code;
  }

  /**
   * What a code stands for, without redeeming it: the token endpoint checks the
   * client, the redirect URI and the PKCE verifier first, so that a request
   * that fails them (someone holding a stolen code without its verifier) does
   * not burn the code for its rightful client.
   *
   * @returns the record, `redeemed` when the code was used before (still known), or null
   */
  async peekCode(code: string): Promise<AuthorizationCodeRecord | 'redeemed' | null> {
    const key = digest(code);
    const [raw, redeemed] = await this.bounded(() =>
      Promise.all([
        this.redis.get(AUTHORIZATION_KEY_PREFIXES.code + key),
        this.redis.get(AUTHORIZATION_KEY_PREFIXES.redeemed + key),
      ]),
    );
    if (redeemed !== null) return 'redeemed';
    return raw === null ? null : (JSON.parse(String(raw)) as AuthorizationCodeRecord);
  }

  /**
   * Redeems a code, once: of concurrent redemptions exactly one wins (Redis
   * `SET NX` on the redeemed marker), whichever replica each reaches. The
   * marker lives an access token's life (`ACCESS_TOKEN_TTL_SECONDS`), so a
   * replay within it is recognised as one.
   */
  async redeemCode(code: string): Promise<RedeemedCode> {
    const key = digest(code);
    const raw = await this.bounded(() => this.redis.get(AUTHORIZATION_KEY_PREFIXES.code + key));
    const replayed = async (): Promise<RedeemedCode> => {
      const marker = await this.bounded(() => this.redis.get(AUTHORIZATION_KEY_PREFIXES.redeemed + key));
      if (marker === null) return { outcome: 'unknown' };
      const { sessionId, accountId } = JSON.parse(String(marker)) as LoginSession;
      return { outcome: 'replayed', sessionId, accountId };
    };
    if (raw === null) return replayed();
    const record = JSON.parse(String(raw)) as AuthorizationCodeRecord;
    const marker = JSON.stringify({ sessionId: record.sessionId, accountId: record.accountId });
    const won = await this.bounded(() =>
      this.redis.set(AUTHORIZATION_KEY_PREFIXES.redeemed + key, marker, {
        NX: true,
        EX: this.config.ACCESS_TOKEN_TTL_SECONDS,
      }),
    );
    if (won !== 'OK') return replayed();
    await this.bounded(() => this.redis.del(AUTHORIZATION_KEY_PREFIXES.code + key));
    return { outcome: 'redeemed', record };
  }

  private async bounded<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(operation(), REDIS_TIMEOUT_MS);
    } catch {
      throw new ProblemException({
        status: 503,
        code: 'dependency_unavailable',
        detail: 'Redis cannot be reached right now; try again shortly.',
        headers: { 'retry-after': '1' },
      });
    }
  }
}

/** @returns 256 random bits, base64url (43 characters): a code, a cookie, a request id or a CSRF token */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function sameDigest(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
