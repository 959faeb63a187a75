import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { IssuerMetrics } from '../telemetry/issuer-metrics';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { SCOPES_BY_ROLE, type TokenResponse } from '@jwt-ms/contracts';
import { failClosed, type UserPrincipal } from '@jwt-ms/auth-jwt';
import { ProblemException, logSecurityEvent, notFound } from '@jwt-ms/service-core';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { AccountsService } from '../accounts/accounts.service';
import type { Account } from '../accounts/account.entity';
import { passwordPolicyViolation } from '../accounts/password-policy';
import { AccessTokenIssuer, type TokenGrant } from '../tokens/access-token.issuer';
import { ClientRegistry } from '../oauth/clients/client-registry';
import { grantedScopes } from '../oauth/grant-policy';
import { RefreshGrace } from '../tokens/refresh-grace';
import { RefreshTokensService, type ConsumeResult, type RefreshFamily } from '../tokens/refresh-tokens.service';
import { MAX_AUTH_TIME_LEAD_SECONDS, RevocationStore } from '../revocation/revocation.store';
import { AUTH_CLOCK, type AuthClock } from './auth-clock';

/**
 * How long a second use of a refresh token within the grace window waits for
 * the first use's answer, in milliseconds (real time): the first may still be
 * issuing, on this replica or another. Past it: 503, and the client retries.
 */
export const REFRESH_GRACE_WAIT_MS = 2000;
/** Interval of that wait's checks, in milliseconds. */
const REFRESH_GRACE_POLL_MS = 20;

/** A consumed token presented again: what {@link RefreshTokensService.consume} reports. */
type Reused = Extract<ConsumeResult, { reason: 'reused' }>;

const INVALID_GRANT = 'The refresh token is invalid, expired, revoked or already used.';

/** 401 `invalid_credentials`: the same answer for an unknown email and a wrong password. */
function invalidCredentials(): ProblemException {
  return new ProblemException({ status: 401, code: 'invalid_credentials', detail: 'The email or password is wrong.' });
}

/** 400 `invalid_grant`, with RFC 6749 §5.2's `error` member beside the problem details. */
function invalidGrant(): ProblemException {
  return new ProblemException({
    status: 400,
    code: 'invalid_grant',
    detail: INVALID_GRANT,
    extensions: { error: 'invalid_grant', error_description: INVALID_GRANT },
  });
}

/** 400 `invalid_scope` (RFC 6749 §5.2): nothing of what was asked can be granted to this account. */
function oauthInvalidScope(): ProblemException {
  const detail = 'None of the requested scopes can be granted to this account.';
  return new ProblemException({
    status: 400,
    code: 'invalid_scope',
    detail,
    extensions: { error: 'invalid_scope', error_description: detail },
  });
}

/** 503 `temporarily_unavailable` with `Retry-After` (seconds): a transient state, not an outage. */
function temporarilyUnavailable(detail: string, retryAfterSeconds: number): ProblemException {
  return new ProblemException({
    status: 503,
    code: 'temporarily_unavailable',
    detail,
    headers: { 'retry-after': String(retryAfterSeconds) },
  });
}

/**
 * Login, refresh, logout and the revocations: the issuer's side of the token
 * lifecycle. Revocations are written to Redis first (where every verifier sees
 * them) and to the database second, so a failure never leaves access tokens
 * alive that the caller was told are revoked.
 *
 * Every NumericDate is whole seconds: `auth_time` too. A session's `auth_time`
 * is when it began, never below the subject's "not before" watermark
 * ({@link login}); logout everywhere writes `floor(now) + 1` ({@link revokeAll}).
 * Times come from the {@link AUTH_CLOCK} (milliseconds since the epoch).
 */
@Injectable()
export class AuthService {
  private readonly logger = new Logger('Auth');
  private readonly now: AuthClock;

  constructor(
    private readonly accounts: AccountsService,
    private readonly accessTokens: AccessTokenIssuer,
    private readonly refreshTokens: RefreshTokensService,
    private readonly revocations: RevocationStore,
    private readonly clients: ClientRegistry,
    private readonly grace: RefreshGrace,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
    @Optional() @Inject(AUTH_CLOCK) now?: AuthClock,
    @Optional() private readonly metrics?: IssuerMetrics,
  ) {
    this.now = now ?? Date.now;
  }

  /**
   * Resource-owner password login, answered with the RFC 6749 §5.1 token response.
   *
   * The session begins now, before the password is read: its `auth_time`
   * (whole seconds) is `floor(now)`, or the subject's watermark when a logout
   * everywhere earlier in this same second put it at `floor(now) + 1`
   * ({@link RevocationStore.sessionAuthTime}), so a login after a revocation
   * is not revoked by it; its start, kept as the refresh-token family's
   * `familyStartedAt`, is `max(now, auth_time)`, and refreshes carry the same
   * `auth_time`. The password hash is read after the watermark: a password
   * change that landed before the read is seen by the check, and one that
   * lands after it writes a watermark above this session's `auth_time`. A
   * revocation racing the rest of the login is caught by the final check in
   * {@link issuePair}. So `auth_time` may lie up to 1 s after `iat` (2 s after
   * several revocations within one second), which verifiers accept (their clock
   * tolerance, 5 s, applies to `auth_time` against `iat`).
   *
   * @throws ProblemException 401 `invalid_credentials`, identical for an unknown email and a wrong password;
   *   503 `temporarily_unavailable` (with `Retry-After`) when revocations of the account within the last
   *   seconds put its watermark more than MAX_AUTH_TIME_LEAD_SECONDS (2 s) ahead; 503 `dependency_unavailable`
   *   when Redis cannot be reached
   */
  async login(email: string, password: string): Promise<TokenResponse> {
    const { account, startedAt } = await this.signIn(email, password);
    return this.issuePair(
      account,
      { accountId: account.id, familyId: randomUUID(), startedAt },
      {},
      invalidCredentials,
    );
  }

  /**
   * Checks a password and begins a session, as {@link login} describes, without
   * issuing anything: `/auth/login` issues a pair from it, the authorization
   * endpoint's login page a login session and its codes.
   *
   * @returns the account and the session's start (`auth_time` is `floor(startedAt)` in seconds)
   * @throws ProblemException as {@link login}
   */
  async signIn(email: string, password: string): Promise<{ account: Account; startedAt: Date }> {
    const nowMs = this.now();
    const nowSeconds = Math.floor(nowMs / 1000);
    // Only to learn whose watermark to read; the password is checked against a hash read after it.
    // An unknown address reads an id nobody has: the same round trip, so timing tells nothing.
    const subject = (await this.accounts.findByEmail(email))?.id ?? null;
    const authTime = await failClosed(() => this.revocations.sessionAuthTime(subject ?? randomUUID(), nowSeconds));
    const account = await this.accounts.verifyCredentials(email, password);
    // An account that took the address meanwhile is not the one whose watermark was read: try again.
    if (!account || account.id !== subject) throw invalidCredentials();
    const lead = authTime - nowSeconds;
    if (lead > MAX_AUTH_TIME_LEAD_SECONDS) {
      // Said only to the holder of the password: nobody else learns that the account was revoked.
      throw temporarilyUnavailable(
        'The sessions of this account were revoked several times within the last seconds; try again shortly.',
        lead - MAX_AUTH_TIME_LEAD_SECONDS,
      );
    }
    return { account, startedAt: new Date(Math.max(nowMs, authTime * 1000)) };
  }

  /**
   * Whether a session begun by {@link signIn} still stands: its account exists
   * and neither the session (`sid`) nor the subject was revoked since it began.
   *
   * @param session the account, the session id and its `auth_time` (whole seconds)
   * @throws ProblemException 503 `dependency_unavailable` when Redis cannot be reached
   */
  async sessionStands(session: { accountId: string; sessionId: string; authTime: number }): Promise<boolean> {
    const revoked = await failClosed(() =>
      this.revocations.check({
        // No token yet: an id no token has, so only the session and the subject are looked up.
        jti: randomUUID(),
        sid: session.sessionId,
        sub: session.accountId,
        authTime: session.authTime,
      }),
    );
    return !revoked && (await this.accounts.findById(session.accountId)) !== null;
  }

  /**
   * Issues an access token of a session begun at the login page (the
   * authorization-code grant, RFC 6749 §4.1.3): no refresh token; the scopes
   * are those of the code, within the account's roles now; then, as
   * {@link issuePair} does, checks that nothing revoked the session meanwhile.
   *
   * @param session the account, the session (`sid`) and its `auth_time` (whole seconds)
   * @param grant the client, the audiences and the scopes the code was issued for
   * @returns the RFC 6749 §5.1 token response, without `refresh_token`
   * @throws ProblemException 400 `invalid_grant` when the account is gone or the session was revoked;
   *   `invalid_scope` when the account's roles no longer allow any of the scopes; 503 when Redis cannot be reached
   */
  async issueForSession(
    session: { accountId: string; sessionId: string; authTime: number },
    grant: TokenGrant,
  ): Promise<Omit<TokenResponse, 'refresh_token'>> {
    const account = await this.accounts.findById(session.accountId);
    if (!account) throw invalidGrant();
    const byRole = new Set(account.roles.flatMap((role) => SCOPES_BY_ROLE[role] ?? []));
    const scopes = grant.scopes.filter((scope) => byRole.has(scope));
    if (scopes.length === 0) throw oauthInvalidScope();
    const access = await this.accessTokens.issueForUser(
      { id: account.id, email: account.email, roles: account.roles },
      session.sessionId,
      session.authTime,
      { ...grant, scopes },
    );
    const revoked = await failClosed(() =>
      this.revocations.check({
        jti: access.jti,
        sid: session.sessionId,
        sub: account.id,
        authTime: session.authTime,
      }),
    );
    if (revoked) throw invalidGrant();
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, scope: access.scope };
  }

  /**
   * Exchanges a refresh token for a new pair (RFC 6749 §6); the presented token
   * is consumed (rotation), and its immediate successor recorded on it.
   *
   * A second use of a consumed token T (RFC 9700 §4.14.2):
   * - within `REFRESH_TOKEN_REUSE_GRACE_SECONDS` of T's first use, while T's
   *   successor is neither used nor revoked and the account exists, gets the
   *   same answer as the first use: the same access token and refresh token,
   *   nothing new issued, nothing revoked (two tabs refreshing at once, a retry
   *   after a lost response). The answer is read from Redis (RefreshGrace),
   *   where the first use, on any replica, left it before answering; a use that
   *   arrives while the first is still issuing waits for it, at most
   *   {@link REFRESH_GRACE_WAIT_MS};
   * - otherwise it is reuse: the whole session is revoked (its refresh tokens
   *   and every access token issued from it). So is a use of T once its
   *   successor was itself rotated: only the immediate successor's parent has
   *   a grace window, never an older token (the flaw of django-oauth-toolkit#1617).
   *
   * @param refreshToken the token string the client sent
   * @param request what the new access token is for, within what the session was given (RFC 6749 §6, RFC 8707):
   *   `audience` already resolved against the client's registration (default: all of it), `scope` as the
   *   client sent it (default: all the session's scopes)
   * @returns the RFC 6749 §5.1 token response
   * @throws ProblemException 400 `invalid_grant` (RFC 6749 §5.2) for an unknown,
   *   expired, revoked or reused token, or one whose account is gone; 503
   *   `dependency_unavailable` when Redis cannot be reached (the token is given
   *   back, never revoked); 503 `temporarily_unavailable` when a use within the
   *   grace window found no answer of the first use in time; 400 `invalid_scope` for a scope the session
   *   does not hold (the token is given back)
   */
  async refresh(refreshToken: string, request: PairRequest = {}): Promise<TokenResponse> {
    return this.rotate(refreshToken, request, true);
  }

  /** {@link refresh}; `mayRetry`: a use that finds the token given back (released) may consume it once more. */
  private async rotate(refreshToken: string, request: PairRequest, mayRetry: boolean): Promise<TokenResponse> {
    const result = await this.refreshTokens.consume(refreshToken);
    if (!result.ok) {
      if (result.reason === 'reused') return this.replay(refreshToken, result, request, mayRetry);
      throw invalidGrant();
    }
    const account = await this.accounts.findById(result.accountId);
    if (!account) {
      await this.refreshTokens.revokeFamily(result.familyId);
      throw invalidGrant();
    }
    let pair: TokenResponse | null = null;
    try {
      pair = await this.issuePair(account, result, request, invalidGrant, result.successorId);
      // Before answering: a second use that sees T consumed finds this, whichever replica it reached.
      await this.grace.remember(refreshToken, pair);
      this.metrics?.countRotation();
      return pair;
    } catch (error) {
      // Redis unreachable, or a scope the session lacks: give the refresh token back, so the
      // client's retry is not taken for a replay.
      const problem = error instanceof ProblemException ? error : null;
      if (problem && (problem.getStatus() === 503 || problem.code === 'invalid_scope')) {
        if (pair) await this.refreshTokens.delete(pair.refresh_token);
        await this.refreshTokens.release(result.tokenId);
      }
      throw error;
    }
  }

  /**
   * A consumed refresh token presented again: the first use's answer within
   * the grace window while the successor is unused, else reuse (see {@link refresh}).
   */
  private async replay(
    refreshToken: string,
    first: Reused,
    request: PairRequest,
    mayRetry: boolean,
  ): Promise<TokenResponse> {
    const deadline = performance.now() + REFRESH_GRACE_WAIT_MS;
    let used = first;
    for (;;) {
      const withinWindow = this.now() - used.usedAt.getTime() < this.grace.windowMs;
      if (!withinWindow || used.successorId === null) return this.reuseDetected(used);
      const successor = await this.refreshTokens.findById(used.successorId);
      if (successor?.revokedAt || (successor && this.refreshTokens.isExpired(successor))) throw invalidGrant();
      // The successor was rotated: T is older than the newest token's parent.
      if (successor?.usedAt) return this.reuseDetected(used);
      const response = successor ? await this.grace.recall(refreshToken) : null;
      if (response && (await this.refreshTokens.findActive(response.refresh_token))?.id === successor?.id) {
        return this.answerAgain(response, used);
      }
      // Not answered yet: the first use is still issuing, or failed.
      const row = await this.refreshTokens.findById(used.tokenId);
      if (!row || row.revokedAt) throw invalidGrant(); // the first use was refused, its session ended
      if (!row.usedAt) {
        // Given back (the first use's Redis failed): this use takes its place.
        if (mayRetry) return this.rotate(refreshToken, request, false);
        throw temporarilyUnavailable('This refresh token is being used right now; try again shortly.', 1);
      }
      if (row.successorId !== used.successorId) {
        // Given back and consumed again meanwhile: follow the new use.
        used = { ...used, usedAt: row.usedAt, successorId: row.successorId };
        continue;
      }
      if (performance.now() >= deadline) {
        throw temporarilyUnavailable(
          'The first use of this refresh token is still being answered; try again shortly.',
          1,
        );
      }
      await delay(REFRESH_GRACE_POLL_MS);
    }
  }

  /**
   * The first use's answer, once more, unless its session was revoked since
   * (in Redis: a logout landing between its database and its Redis step) or
   * its account is gone.
   */
  private async answerAgain(response: TokenResponse, used: Reused): Promise<TokenResponse> {
    if (!(await this.accounts.findById(used.accountId))) throw invalidGrant();
    const claims = decodeJwt(response.access_token);
    const revoked = await failClosed(() =>
      this.revocations.check({
        jti: String(claims.jti),
        sid: String(claims['sid']),
        sub: String(claims.sub),
        authTime: Number(claims['auth_time']),
      }),
    );
    if (revoked) throw invalidGrant();
    this.logger.log(`refresh token of session ${used.familyId} used again within the grace window: answered as before`);
    return response;
  }

  /** Reuse of a consumed refresh token: revokes its session (RFC 9700 §4.14.2). */
  private async reuseDetected(used: Reused): Promise<never> {
    // A copy of an old token is in someone's hands: in Redis first, then the database (see endSession).
    logSecurityEvent(this.logger, 'refresh_token_reuse', {
      sub: used.accountId,
      client_id: this.config.AUTH_CLIENT_ID,
      reason: 'a consumed refresh token was presented again: its session is revoked',
    });
    this.metrics?.countReuse();
    await this.endSession(used.familyId);
    throw invalidGrant();
  }

  /**
   * Ends the caller's session: the presented access token, every other access
   * token of its session (`sid`) and the session's refresh tokens.
   *
   * @throws ProblemException 503 when Redis cannot be reached
   */
  async logout(principal: UserPrincipal): Promise<void> {
    // The session entry covers the presented token too: no `jti` entry, so a burst of logouts with many
    // tokens of one session adds one entry to the list every verifier holds, not one per token.
    await this.endSession(principal.sessionId);
  }

  /**
   * Logout everywhere: every access and refresh token of the account, on every
   * device, without listing them: a "not before" watermark in Redis that every
   * verifier checks, plus the refresh tokens in the database.
   *
   * @param accountId the subject
   * @throws ProblemException 503 when Redis cannot be reached
   */
  async revokeAll(accountId: string): Promise<void> {
    // Whole seconds, as auth_time: floor(now) + 1 covers every session that began up to now, earlier in this
    // same second included. A login after this write reads the watermark and starts its session at it, so it
    // is not covered (see login); the store moves the watermark past any auth_time such a login claimed.
    const notBefore = Math.floor(this.now() / 1000) + 1;
    try {
      await failClosed(() =>
        this.revocations.revokeSubjectBefore(accountId, notBefore, this.config.ACCESS_TOKEN_TTL_SECONDS),
      );
    } finally {
      await this.refreshTokens.revokeAccount(accountId);
    }
    this.logger.log(`all tokens of account ${accountId} revoked`);
  }

  /**
   * Changes the caller's password, then revokes every token of the account.
   *
   * @param newPassword checked against the password policy (`passwordPolicyViolation`), hashed in NFKC form
   * @throws ProblemException 403 `invalid_credentials` when the current password is wrong;
   *   400 `validation_failed` when the new password is the account's email address
   */
  async changePassword(principal: UserPrincipal, currentPassword: string, newPassword: string): Promise<void> {
    const account = await this.accounts.findById(principal.subject);
    if (!account || !(await this.accounts.passwordMatches(account, currentPassword))) {
      throw new ProblemException({
        status: 403,
        code: 'invalid_credentials',
        detail: 'The current password is wrong.',
      });
    }
    // The DTO checked the policy without the account; its email is a context word (NIST SP 800-63B §3.1.1.2).
    const violation = passwordPolicyViolation(newPassword, 'new_password', { email: account.email });
    if (violation) {
      throw new ProblemException({
        status: 400,
        code: 'validation_failed',
        detail: 'The request is not valid; see `errors`.',
        errors: [{ field: 'new_password', message: violation }],
      });
    }
    // Only over the hash just verified: a takeover or another change landing meanwhile wins.
    if ((await this.accounts.replacePassword(account.id, account.passwordHash, newPassword)) === null) {
      throw new ProblemException({
        status: 403,
        code: 'invalid_credentials',
        detail: 'The current password is wrong.',
      });
    }
    await this.revokeAll(account.id);
  }

  /**
   * Deletes an account and revokes all its tokens (admin).
   *
   * @throws ProblemException 404 when there is no such account
   */
  async deleteAccount(accountId: string): Promise<void> {
    await this.assertAccountExists(accountId);
    await this.revokeAll(accountId);
    await this.refreshTokens.deleteAccount(accountId);
    await this.accounts.delete(accountId);
  }

  /** @throws ProblemException 404 when there is no such account */
  async assertAccountExists(accountId: string): Promise<void> {
    if (!(await this.accounts.findById(accountId))) throw notFound('user');
  }

  /**
   * Revokes a session (logout, refresh-token reuse, RFC 7009 revocation of a
   * refresh token): its access tokens in Redis first, then its refresh
   * tokens in the database. With this order, a refresh racing the revocation
   * either has its new refresh token revoked by the database step, or sees the
   * Redis entry in its own final check (see issuePair): never a live session.
   */
  async endSession(sessionId: string): Promise<void> {
    try {
      await failClosed(() => this.revocations.revokeSession(sessionId, this.config.ACCESS_TOKEN_TTL_SECONDS));
    } finally {
      await this.refreshTokens.revokeFamily(sessionId);
    }
  }

  /**
   * Issues an access token and the next refresh token of a session, then
   * checks once more that nothing revoked the session, the subject or the
   * account meanwhile (a logout, logout everywhere, password change, deletion
   * or reuse detection racing this request). Every revocation writes Redis
   * before the database, so a race is caught either here or by that database
   * step; and the access token's `auth_time` is the session's start, so the
   * verifiers refuse it as well.
   *
   * @param family the session; `auth_time` is its start in whole seconds, `floor(startedAt)`
   * @param request the audiences and scope asked for (see {@link refresh})
   * @param refused the error to answer when the session was revoked meanwhile
   * @param refreshTokenId the new refresh token's row id (a rotation's recorded successor); new when absent
   * @throws ProblemException 400 `invalid_scope` before anything is issued, for a scope the account's roles
   *   or the first-party client do not allow
   */
  private async issuePair(
    account: Account,
    family: RefreshFamily,
    request: PairRequest,
    refused: () => ProblemException,
    refreshTokenId?: string,
  ): Promise<TokenResponse> {
    const grant = this.firstPartyGrant(account, request);
    const authTime = Math.floor(family.startedAt.getTime() / 1000);
    const access = await this.accessTokens.issueForUser(
      { id: account.id, email: account.email, roles: account.roles },
      family.familyId,
      authTime,
      grant,
    );
    const refresh = await this.refreshTokens.create(family, refreshTokenId);
    let revoked: string | null;
    try {
      revoked = await failClosed(() =>
        this.revocations.check({ jti: access.jti, sid: family.familyId, sub: account.id, authTime }),
      );
    } catch (error) {
      await this.refreshTokens.delete(refresh);
      throw error;
    }
    if (revoked || !(await this.accounts.findById(account.id))) {
      await this.refreshTokens.revokeFamily(family.familyId);
      throw refused();
    }
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      refresh_token: refresh,
      scope: access.scope,
    };
  }

  /**
   * What a session's access token grants: the first-party client's registered
   * audiences (or those asked for), and the scopes of the account's roles
   * that the client may hold (or those asked for, within them).
   */
  private firstPartyGrant(account: Account, request: PairRequest): TokenGrant {
    const client = this.clients.find(this.config.AUTH_CLIENT_ID);
    if (!client) throw new Error(`the first-party client ${this.config.AUTH_CLIENT_ID} is not registered`);
    const byRole = new Set(account.roles.flatMap((role) => SCOPES_BY_ROLE[role] ?? []));
    return {
      clientId: client.id,
      audience: request.audience ?? client.audiences,
      scopes: grantedScopes(
        request.scope,
        client.scopes.filter((scope) => byRole.has(scope)),
      ),
    };
  }
}

/** What a login session's access token is asked for (see {@link AuthService.refresh}). */
export interface PairRequest {
  /** Audiences, already checked against the client's registration (`grantedAudiences`); default all of them. */
  audience?: readonly string[];
  /** The `scope` parameter as sent; default all the session may hold. */
  scope?: string;
}
