import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy, type StrategyOptionsWithoutRequest } from 'passport-jwt';
import type { IncomingHttpHeaders } from 'node:http';
import { AUTH_JWT_OPTIONS, resolveOptions, type AuthJwtModuleOptions } from './auth-jwt.options';
import { checkHeader, extractBearerToken } from './access-token.checks';
import { AccessTokenVerifier } from './access-token.verifier';
import { installJwsVerifier } from './jws-verifier';
import type { Principal } from './principal';

import { SigningKeyResolver } from './signing-key.resolver';

/** Name under which the strategy is registered with passport. */
export const ACCESS_TOKEN_STRATEGY = 'access-token';

/**
 * The passport-jwt strategy that verifies access tokens (RFC 9068 §4).
 *
 * Order of checks, cheapest first; any failure is a 401 `invalid_token`:
 * 1. size and shape: at most `maxTokenBytes`, compact JWS form (RFC 7515 §7.1);
 * 2. protected header (before any key is touched): `alg` in the allowlist
 *    (RFC 8725 §3.1: no `none`, no HMAC), `typ` is `at+jwt` (RFC 9068 §4,
 *    RFC 8725 §3.11), `kid` present, no `crit` (RFC 7515 §4.1.11: we understand
 *    no extension), no `b64` (RFC 7797), no key-carrying `jwk`/`jku`/`x5u`/`x5c`;
 *    header and payload are JSON objects without duplicate members (RFC 7515 §4, RFC 7519 §4);
 * 3. key by `kid` from the issuer's JWKS, fitting `alg` (see SigningKeyResolver);
 * 4. signature, then `iss`, `aud`, `exp`, `nbf` by passport-jwt's verifier, which we install as
 *    `verifyJws` (jws-verifier.ts: Node's `crypto.verify` with the cached key, RFC 7515 §5.2, RFC 7519 §7.2);
 * 5. claims (`validate`): RFC 9068 §2.2 required claims present and typed,
 *    `iat` not in the future beyond tolerance;
 * 6. not revoked: its `jti`, its session (`sid`), or every token of its subject
 *    whose session began before a "not before" watermark, looked up in the
 *    in-process RevocationView (fed by Redis pub/sub); a view staler
 *    than its bound → 503, fail closed.
 */
@Injectable()
export class AccessTokenStrategy extends PassportStrategy(Strategy, ACCESS_TOKEN_STRATEGY) {
  constructor(
    @Inject(AUTH_JWT_OPTIONS) rawOptions: AuthJwtModuleOptions,
    keys: SigningKeyResolver,
    private readonly verifier: AccessTokenVerifier,
  ) {
    const settings = resolveOptions(rawOptions);
    const strategyOptions: StrategyOptionsWithoutRequest = {
      jwtFromRequest: (request: { headers: IncomingHttpHeaders }) => extractBearerToken(request.headers),
      // Decoding happens inside the promise chain so a malformed token is a 401, never a 500.
      secretOrKeyProvider: (_request, rawToken, done) => {
        let header;
        try {
          header = checkHeader(rawToken as string, settings);
        } catch (error) {
          done(error); // a malformed token is a 401, never a 500
          return;
        }
        // A key chosen before for this `alg` and `kid` is handed over at once; else jose selects it.
        const known = keys.keyFor(header);
        if (known) {
          done(null, known as unknown as string);
          return;
        }
        keys.resolve(header).then(
          (key) => done(null, key as unknown as string),
          (error) => done(error),
        );
      },
      issuer: settings.issuer,
      audience: settings.audience,
      // The header check has already required `alg` to be in this list; verifyJws checks the key fits it.
      algorithms: settings.algorithms as StrategyOptionsWithoutRequest['algorithms'],
      ignoreExpiration: false,
      jsonWebTokenOptions: { clockTolerance: settings.clockToleranceSeconds },
    };
    super(strategyOptions);
    installJwsVerifier();
  }

  /**
   * Called by passport-jwt with the payload of a token whose signature,
   * `iss`, `aud`, `exp` and `nbf` are valid.
   *
   * @param payload the JWT claims set
   * @returns the {@link Principal}
   * @throws TokenRejectedError (→ 401) on a missing/ill-typed claim, future `iat`, or revocation
   * @throws ProblemException 503 when the revocation list is stale (fail closed)
   */
  async validate(payload: unknown): Promise<Principal> {
    return this.verifier.acceptClaims(payload);
  }
}
