import { Inject, Injectable, Optional } from '@nestjs/common';
import { AUTH_JWT_SETTINGS, type ResolvedAuthJwtOptions } from './auth-jwt.options';
import {
  checkHeader,
  checkLifetime,
  checkRegisteredClaims,
  checkSize,
  parsePayload,
  splitCompactJws,
  toPrincipal,
  type AccessTokenHeader,
  type ClaimLimits,
  type CompactJws,
} from './access-token.checks';
import { verifySignature } from './jws-verifier';
import type { Principal } from './principal';
import {
  RevocationUnavailableError,
  RevocationView,
  type RevocableToken,
  type RevocationReason,
  type TokenRevocationStatus,
} from './revocation';
import { SigningKeyResolver } from './signing-key.resolver';
import { TokenRejectedError, VerificationUnavailableError, type TokenRejectionCode } from './token-rejection';
import { VerifiedTokenCache } from './verified-token.cache';
import { VerifierMetrics } from './verifier-metrics';

/** Distinct protected headers remembered; beyond it the memo starts over (a flood of made-up headers only costs parsing). */
const MAX_REMEMBERED_HEADERS = 32;

const REVOCATION_CODES: Record<NonNullable<RevocationReason>, TokenRejectionCode> = {
  'token revoked': 'revoked_token',
  'session revoked': 'revoked_session',
  'all tokens of the subject revoked': 'revoked_subject',
};

/**
 * The access-token verification pipeline (RFC 9068 §4), the only one: the
 * request guard (through the passport-jwt strategy) and introspection (RFC 7662)
 * both call {@link verify}. Cheapest check first; each one throws a
 * {@link TokenRejectedError} whose code names it:
 *
 * 1. size: at most `maxTokenBytes` (`too_large`);
 *    then the verified-token cache: the very same string verified before skips
 *    to step 8's lifetime cap and step 9 (a hit never skips revocation);
 * 2. shape: compact JWS, three base64url segments (RFC 7515 §7.1) (`malformed`);
 * 3. protected header, parsed once (RFC 7515 §4, no duplicate members: `duplicate_member`) —
 *    and once per distinct header text: tokens of one issuer key share it, and the outcome depends
 *    on that text alone, so an accepted header is remembered (bounded) and not decoded again:
 *    `alg` in the allowlist (RFC 8725 §3.1: no `none`, no HMAC) (`bad_alg`); `typ` `at+jwt`
 *    (RFC 9068 §4, RFC 8725 §3.11) (`bad_typ`); `kid` present (`bad_kid`); no `crit`
 *    (RFC 7515 §4.1.11), no `b64` (RFC 7797), no `jwk`/`jku`/`x5u`/`x5c` (RFC 8725 §3.10)
 *    (`unsupported_header`);
 * 4. key by `kid` and `alg` from the issuer's JWK Set (RFC 7517 §5; the key's `kty`/`crv`/`alg`
 *    must fit the token's `alg`, RFC 7517 §4.4, RFC 8725 §2.1): memoized synchronously
 *    (`keyFor`), else looked up (`resolve`) (`unknown_kid`; never loaded → 503);
 * 5. key fits `alg` (P-256 / RSA ≥ 2048 / Ed25519, RFC 7518 §3.3–3.4, RFC 8037 §3.1) and
 *    signature (RFC 7515 §5.2), by `crypto.verify` with the cached `KeyObject` (`bad_signature`;
 *    a second spelling of the signature, RFC 7515 §2: `malformed`);
 * 6. payload, parsed after the signature: a JSON object without duplicate claims (RFC 7519 §4,
 *    §7.2) (`malformed`, `duplicate_member`);
 * 7. `iss` (RFC 7519 §4.1.1) (`bad_iss`), `aud` (§4.1.3) (`bad_aud`), `exp` (§4.1.4)
 *    (`expired`), `nbf` (§4.1.5) (`not_yet_valid`), with `clockToleranceSeconds` of skew;
 * 8. claims: RFC 9068 §2.2 required claims present and typed, and the kind they name (`bad_claim`):
 *    with `sid` a user token (`roles`, `auth_time`, `email`; `sub` ≠ `client_id`, RFC 9068 §5; `act`
 *    a single actor, RFC 8693 §4.1), without `sid` a service token (RFC 6749 §4.4: `sub` = `client_id`,
 *    not a UUID, no user claims); `iat` not in the future (RFC 7519 §4.1.6) (`issued_in_future`),
 *    lifetime `exp − iat` no longer than the revocations cover (`lifetime_too_long`);
 * 9. not revoked: its `jti` (`revoked_token`), a user token's session `sid` (`revoked_session`), its
 *    subject's watermark against a user token's `auth_time` or a service token's `iat`
 *    (`revoked_subject`), in this process's {@link RevocationView} (memory, no I/O; RFC 7009
 *    revocations, logout, deletion);
 *    a list staler than its bound → 503, fail closed.
 *
 * Besides TokenRejectedError it throws only {@link VerificationUnavailableError} (503: the keys
 * never loaded, the revocation list unavailable). token-rejection.ts turns both into problems.
 */
@Injectable()
export class AccessTokenVerifier {
  /** Step 3's outcome for header segments accepted before, by their base64url text. */
  private readonly acceptedHeaders = new Map<string, AccessTokenHeader>();

  constructor(
    @Inject(AUTH_JWT_SETTINGS) private readonly settings: ResolvedAuthJwtOptions,
    private readonly keys: SigningKeyResolver,
    private readonly revocations: RevocationView,
    private readonly verifiedTokens: VerifiedTokenCache,
    @Optional() private readonly metrics: VerifierMetrics = new VerifierMetrics(),
  ) {}

  /**
   * Runs the pipeline on one token.
   *
   * @param token the compact JWS, as sent (the bearer token of RFC 6750 §2.1)
   * @param nowMs the current time, in milliseconds since the epoch; default the module's `now` option
   *   (`Date.now`); tests pass a frozen one
   * @param expected for the issuer's own checks (RFC 7662 introspection, RFC 8693 token exchange): the
   *   audiences of which the token must name one, instead of this service's. Such a verification neither
   *   reads nor fills the verified-token cache, which holds only tokens verified for this service
   * @returns the principal of a valid, unrevoked access token: a `UserPrincipal` or a `ServicePrincipal` (step 8)
   * @throws TokenRejectedError naming, by its code, the check that failed
   * @throws VerificationUnavailableError when the issuer's keys never loaded, or the revocation list is
   *   unavailable (never loaded; stale under `fail-closed`)
   */
  async verify(
    token: string,
    nowMs: number = this.settings.now(),
    expected?: { audiences: readonly string[] },
  ): Promise<Principal> {
    const nowSeconds = nowMs / 1000;
    checkSize(token, this.settings.maxTokenBytes); // 1
    const cacheKey = expected ? null : this.verifiedTokens.keyOf(token);
    const verified = cacheKey === null ? undefined : this.verifiedTokens.get(cacheKey, nowMs);
    if (cacheKey) this.metrics.countCacheLookup(verified !== undefined);
    if (verified) {
      checkLifetime(verified.issuedAt, verified.expiresAt, this.claimLimits()); // 8: the bound may have shrunk
      return this.assertNotRevoked(verified); // 9
    }
    const principal = await this.verifySigned(token, nowSeconds, expected); // 2–8
    this.assertNotRevoked(principal); // 9
    if (cacheKey !== null) this.verifiedTokens.set(cacheKey, principal, nowMs);
    return principal;
  }

  /**
   * Every check of {@link verify} but revocation (steps 1 to 8, for this service's audience), then whether
   * this replica's revocation list revokes the token, and how it learnt so: what
   * `GET /<service>/revocation-status` answers. It never returns the principal, so nothing can be granted
   * on its outcome; neither reads nor fills the verified-token cache (which holds only unrevoked tokens).
   *
   * Why skipping step 9 here opens nothing: only a token that passes steps 1–8 (signed by the issuer, for this
   * service, unexpired) gets an answer, and the answer is about that token alone, through ids it carries itself
   * (`jti`, `sid`, `sub`): its holder cannot ask about anyone else's token, and learns that it is revoked,
   * which every protected route already tells (401 `revoked_session`…), and when this replica learnt so.
   *
   * @param token the compact JWS, as sent (RFC 6750 §2.1)
   * @param nowMs the current time, in milliseconds since the epoch; default the module's `now` option
   * @returns `{revoked: false}`, or the kind of entry that revokes it, with this replica's record of it
   * @throws TokenRejectedError naming the check of steps 1–8 that failed (never a `revoked_*` code)
   * @throws VerificationUnavailableError when the keys never loaded, or the list is unavailable (never loaded;
   *   stale or lost under `fail-closed`): a list that would not be trusted to refuse a token cannot say it is not revoked
   */
  async revocationStatus(token: string, nowMs: number = this.settings.now()): Promise<TokenRevocationStatus> {
    checkSize(token, this.settings.maxTokenBytes); // 1
    const principal = await this.verifySigned(token, nowMs / 1000); // 2–8
    try {
      return this.revocations.status(revocableOf(principal));
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /** Steps 2 to 8 (see the class): the principal of a well-signed, current token of this issuer for `expected`. */
  private async verifySigned(
    token: string,
    nowSeconds: number,
    expected?: { audiences: readonly string[] },
  ): Promise<Principal> {
    const jws = splitCompactJws(token); // 2
    const header = this.checkHeader(jws); // 3
    const key = this.keys.keyFor(header) ?? (await this.keys.resolve(header)); // 4
    verifySignature(jws, header.alg, key); // 5
    const claims = parsePayload(jws); // 6
    checkRegisteredClaims(
      claims,
      expected ? { ...this.settings, audience: expected.audiences } : this.settings,
      nowSeconds,
    ); // 7
    return toPrincipal(claims, this.claimLimits(), nowSeconds); // 8
  }

  /** A {@link RevocationUnavailableError} as the 503 it is; anything else as it is. */
  private unavailable(error: unknown): unknown {
    return error instanceof RevocationUnavailableError
      ? new VerificationUnavailableError('revocation_list', error.message, { cause: error })
      : error;
  }

  /** Step 3, remembered per header text (see the class). */
  private checkHeader(jws: CompactJws): AccessTokenHeader {
    const segment = jws.token.slice(0, jws.firstDot);
    const known = this.acceptedHeaders.get(segment);
    if (known) return known;
    const header = Object.freeze(checkHeader(jws, this.settings.algorithms));
    if (this.acceptedHeaders.size >= MAX_REMEMBERED_HEADERS) this.acceptedHeaders.clear();
    this.acceptedHeaders.set(segment, header);
    return header;
  }

  /**
   * Step 8's limits: the configured lifetime, or the shorter one the issuer
   * publishes with the revocation list as the lifetime its revocations cover.
   */
  private claimLimits(): ClaimLimits {
    const published = this.revocations.coveredTokenLifetimeSeconds();
    return {
      clockToleranceSeconds: this.settings.clockToleranceSeconds,
      maxTokenLifetimeSeconds:
        published === null
          ? this.settings.maxTokenLifetimeSeconds
          : Math.min(this.settings.maxTokenLifetimeSeconds, published),
    };
  }

  /**
   * Step 9: its `jti`, a user token's session, and its subject's watermark
   * (against `auth_time`, or a service token's `iat`), checked on every
   * verification, cache hit or not.
   *
   * @returns the same principal
   * @throws TokenRejectedError `revoked_token`, `revoked_session`, `revoked_subject`
   * @throws VerificationUnavailableError `revocation_list` when the list cannot be consulted
   */
  private assertNotRevoked(principal: Principal): Principal {
    let reason: RevocationReason;
    try {
      // One object of one shape for both kinds, as before: the hot path allocates nothing more.
      reason = this.revocations.check({
        jti: principal.tokenId,
        sid: principal.kind === 'user' ? principal.sessionId : undefined,
        sub: principal.subject,
        authTime: principal.kind === 'user' ? principal.authenticatedAt : principal.issuedAt,
      });
    } catch (error) {
      throw this.unavailable(error);
    }
    if (reason) throw new TokenRejectedError(REVOCATION_CODES[reason], reason);
    return principal;
  }
}

/** The parts of a verified token that revocation looks at (see {@link RevocableToken}). */
function revocableOf(principal: Principal): RevocableToken {
  return {
    jti: principal.tokenId,
    sid: principal.kind === 'user' ? principal.sessionId : undefined,
    sub: principal.subject,
    authTime: principal.kind === 'user' ? principal.authenticatedAt : principal.issuedAt,
  };
}
