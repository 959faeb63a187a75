import { createHash } from 'node:crypto';
import { readBoundedJson } from './bounded-json';

/** RFC 8693 §3: the token type of the subject token and of the token asked for. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** RFC 8693 §2.1 `grant_type`. */
export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/**
 * How long before its `expires_in` runs out a cached token stops being handed
 * out, in milliseconds: a request that leaves with it must still find it valid
 * at the service it calls, across a slow hop and a little clock skew.
 */
export const EXCHANGED_TOKEN_REUSE_MARGIN_MS = 10_000;

/** Settings of a {@link TokenExchangeClient}. */
export interface TokenExchangeClientOptions {
  /** The issuer's token endpoint (RFC 8414 `token_endpoint`), e.g. `http://auth-service:3000/oauth/token`. */
  tokenEndpoint: string;
  /** This service's client id in the issuer's registry: it becomes the exchanged token's `act.sub`. */
  clientId: string;
  /** Its secret, sent with HTTP Basic (RFC 6749 §2.3.1 `client_secret_basic`). */
  clientSecret: string;
  /** Most cached tokens (one per subject token, audience and scope); the oldest goes first past it. Default 10 000. */
  maxEntries?: number;
  /** The clock, in milliseconds since the epoch (tests pass their own). */
  now?: () => number;
}

/** What a resource service asks for (RFC 8693 §2.1). */
export interface ExchangeRequest {
  /** The logical name of the service to call (`audience`), e.g. `users-service`. */
  audience: string;
  /** The scopes wanted, space-separated: no more than the subject token has (the issuer refuses a widening). */
  scope: string;
}

/**
 * The issuer answered the exchange with an RFC 6749 §5.2 error.
 * `invalid_request` (RFC 8693 §2.2.2) or `invalid_grant` means the subject
 * token is not good there (revoked or expired meanwhile); anything else (`invalid_client`, `unauthorized_client`, `invalid_scope`,
 * `invalid_target`) is this service's registration or request: a deployment bug.
 */
export class TokenExchangeRefusedError extends Error {
  constructor(
    /** The §5.2 `error` code, or `invalid_response` when the answer was not a token response. */
    readonly error: string,
    /** The HTTP status of the answer. */
    readonly status: number,
  ) {
    super(`the token exchange was refused: ${error} (HTTP ${status})`);
    this.name = 'TokenExchangeRefusedError';
  }
}

/** The token endpoint did not answer (network error, timeout, 5xx). */
export class TokenEndpointUnavailableError extends Error {
  constructor(readonly reason: 'timeout' | 'unreachable' | 'server_error') {
    super(`the token endpoint is unavailable (${reason})`);
    this.name = 'TokenEndpointUnavailableError';
  }
}

interface CachedExchange {
  token: Promise<string>;
  /** Until when it is handed out, in milliseconds since the epoch; Infinity while the exchange is in flight. */
  reusableUntilMs: number;
}

/**
 * Exchanges a user's access token for one that a downstream service accepts,
 * on the user's behalf (RFC 8693 §2): `subject_token` the user's token,
 * `audience` the service, a narrower `scope`; the issuer answers with a token
 * whose `aud` is that service only and whose `act` (§4.1) names this client.
 * The caller sends it on (RFC 6750 §2.1) and never the user's own token, which
 * the downstream service would refuse anyway (its `aud` is the caller).
 *
 * The hot path pays one exchange per subject token, not one per request: the
 * answer is cached per (subject token, audience, scope) until
 * {@link EXCHANGED_TOKEN_REUSE_MARGIN_MS} before its `expires_in` runs out, and
 * concurrent requests for the same key share one exchange in flight. A failed
 * exchange is not cached. Revocation needs no help here: the exchanged token
 * carries the user's `sid` and `auth_time`, so the downstream verifier refuses
 * it as soon as the session is revoked, like the original (and this service
 * refuses the original first).
 *
 * The key is the SHA-256 of the subject token, so the map holds no token that
 * could be replayed from a heap dump of the keys; the values are the
 * exchanged tokens, which only this service's audience-bound calls use.
 */
export class TokenExchangeClient {
  private readonly cache = new Map<string, CachedExchange>();
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly authorization: string;

  constructor(private readonly options: TokenExchangeClientOptions) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
    const form = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
    this.authorization = `Basic ${Buffer.from(`${form(options.clientId)}:${form(options.clientSecret)}`).toString('base64')}`;
  }

  /**
   * The token to call `request.audience` with on behalf of the subject token's user.
   *
   * @param subjectToken the verified access token the user presented to this service
   * @param request the audience and scopes wanted
   * @param signal the caller's deadline; it aborts the exchange this call starts (requests that joined it
   *   fail with it, and the next one starts afresh)
   * @returns the exchanged access token (compact JWS)
   * @throws TokenExchangeRefusedError when the issuer answers an RFC 6749 §5.2 error, or no token response
   * @throws TokenEndpointUnavailableError `timeout` when `signal` fires, `unreachable` on a network error or a
   *   redirect (none is followed),
   *   `server_error` on a 5xx
   */
  async tokenFor(subjectToken: string, request: ExchangeRequest, signal: AbortSignal): Promise<string> {
    const key = cacheKey(subjectToken, request);
    const cached = this.cache.get(key);
    if (cached && this.now() < cached.reusableUntilMs) return cached.token;
    const entry: CachedExchange = { token: Promise.resolve(''), reusableUntilMs: Number.POSITIVE_INFINITY };
    entry.token = this.exchange(subjectToken, request, signal).then(
      ({ token, expiresInSeconds }) => {
        entry.reusableUntilMs = this.now() + expiresInSeconds * 1000 - EXCHANGED_TOKEN_REUSE_MARGIN_MS;
        return token;
      },
      (error: unknown) => {
        if (this.cache.get(key) === entry) this.cache.delete(key);
        throw error;
      },
    );
    this.remember(key, entry);
    return entry.token;
  }

  /** How many exchanges are cached or in flight (for tests and metrics). */
  get size(): number {
    return this.cache.size;
  }

  private remember(key: string, entry: CachedExchange): void {
    this.cache.delete(key);
    this.cache.set(key, entry);
    const now = this.now();
    // Oldest first: drop while over the bound or expired, stop at the first live entry within it.
    for (const [oldest, value] of this.cache) {
      if (this.cache.size <= this.maxEntries && value.reusableUntilMs > now) break;
      this.cache.delete(oldest);
    }
  }

  private async exchange(
    subjectToken: string,
    request: ExchangeRequest,
    signal: AbortSignal,
  ): Promise<{ token: string; expiresInSeconds: number }> {
    let response: Response;
    try {
      response = await fetch(this.options.tokenEndpoint, {
        method: 'POST',
        headers: {
          authorization: this.authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({
          grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
          subject_token: subjectToken,
          subject_token_type: ACCESS_TOKEN_TYPE,
          requested_token_type: ACCESS_TOKEN_TYPE,
          audience: request.audience,
          scope: request.scope,
        }),
        // A 307/308 would post the form again, the user's subject_token in it, to wherever it points.
        redirect: 'error',
        signal,
      });
    } catch {
      throw new TokenEndpointUnavailableError(signal.aborted ? 'timeout' : 'unreachable');
    }
    if (response.status >= 500) {
      await response.body?.cancel();
      throw new TokenEndpointUnavailableError('server_error');
    }
    let body: unknown;
    try {
      body = await readBoundedJson(response);
    } catch {
      if (signal.aborted) throw new TokenEndpointUnavailableError('timeout');
      throw new TokenExchangeRefusedError('invalid_response', response.status);
    }
    const answer = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    if (response.status !== 200) {
      throw new TokenExchangeRefusedError(
        typeof answer['error'] === 'string' ? answer['error'] : 'invalid_response',
        response.status,
      );
    }
    const token = answer['access_token'];
    const expiresIn = answer['expires_in'];
    // RFC 8693 §2.2.1: a bearer access token, as asked.
    if (
      typeof token !== 'string' ||
      token === '' ||
      answer['issued_token_type'] !== ACCESS_TOKEN_TYPE ||
      typeof answer['token_type'] !== 'string' ||
      answer['token_type'].toLowerCase() !== 'bearer' ||
      typeof expiresIn !== 'number' ||
      !Number.isFinite(expiresIn) ||
      expiresIn <= 0
    ) {
      throw new TokenExchangeRefusedError('invalid_response', response.status);
    }
    return { token, expiresInSeconds: expiresIn };
  }
}

function cacheKey(subjectToken: string, request: ExchangeRequest): string {
  return `${createHash('sha256').update(subjectToken).digest('base64url')} ${request.audience} ${request.scope}`;
}
