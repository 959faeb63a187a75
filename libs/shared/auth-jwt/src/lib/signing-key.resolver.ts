import { Inject, Injectable } from '@nestjs/common';
import { KeyObject } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type FlattenedJWSInput,
} from 'jose';
import { AUTH_JWT_OPTIONS, resolveOptions, type AuthJwtModuleOptions } from './auth-jwt.options';
import { TokenRejectedError } from './token-rejection';

type KeyLookup = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

/**
 * Finds the public key that verifies a token, by its `kid` and `alg`, in the
 * issuer's JWK Set (RFC 7517 §5), through jose.
 *
 * - Remote sets are cached; an unknown `kid` triggers a refetch at most once
 *   per cooldown (`jwksCooldownMs`), so a flood of made-up `kid`s cannot make
 *   this service hammer the issuer (RFC 8725 §3.10 spirit).
 * - A key is usable only if its `kty`/`crv` fit the token's `alg` and, when the
 *   JWK names an `alg`, that it is the same (RFC 7517 §4.4; jose's selection):
 *   the algorithm is taken from the key, never from the token alone (RFC 8725 §2.1).
 * - Keys are converted once to Node `KeyObject`s (what jsonwebtoken verifies
 *   fastest with) and the conversion is cached.
 */
@Injectable()
export class SigningKeyResolver {
  private lookup: KeyLookup;
  private localSnapshot?: string;
  private readonly keyObjects = new WeakMap<CryptoKey, KeyObject>();

  constructor(@Inject(AUTH_JWT_OPTIONS) rawOptions: AuthJwtModuleOptions) {
    const options = resolveOptions(rawOptions);
    const source = options.keys;
    if ('jwksUri' in source) {
      this.lookup = createRemoteJWKSet(new URL(source.jwksUri), {
        cooldownDuration: options.jwksCooldownMs,
        cacheMaxAge: options.jwksCacheMaxAgeMs,
        timeoutDuration: options.jwksTimeoutMs,
      });
    } else {
      const load = source.localJwks;
      this.lookup = this.localLookup(load);
    }
  }

  /**
   * @param header the token's protected header, already checked for `alg` and `kid`
   * @returns the verification key as a `KeyObject`
   * @throws TokenRejectedError when no single key of the set fits (unknown `kid`,
   *   `alg` that does not fit the key) or the set cannot be fetched
   */
  async resolve(header: JWSHeaderParameters): Promise<KeyObject> {
    let key: CryptoKey;
    try {
      key = await this.lookup(header, { payload: '', signature: '' });
    } catch (error) {
      throw new TokenRejectedError(describeLookupError(error));
    }
    let keyObject = this.keyObjects.get(key);
    if (!keyObject) {
      keyObject = KeyObject.from(key);
      this.keyObjects.set(key, keyObject);
    }
    return keyObject;
  }

  /** A lookup over an in-process key set that is rebuilt when the set changes. */
  private localLookup(load: () => JSONWebKeySet): KeyLookup {
    let current: KeyLookup | undefined;
    const rebuild = () => {
      const jwks = load();
      const snapshot = JSON.stringify(jwks);
      if (!current || snapshot !== this.localSnapshot) {
        this.localSnapshot = snapshot;
        current = createLocalJWKSet(jwks);
      }
      return current;
    };
    return async (header, token) => {
      try {
        return await (current ?? rebuild())(header, token);
      } catch (error) {
        if ((error as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw error;
        return rebuild()(header, token);
      }
    };
  }
}

function describeLookupError(error: unknown): string {
  switch ((error as { code?: string }).code) {
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'no key of the issuer fits the "kid" and "alg" of this token';
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'the "kid" is ambiguous';
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'unexpected "alg" header value';
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JOSE_GENERIC':
    case 'ERR_JWKS_INVALID':
      return "the issuer's keys could not be loaded";
    default:
      return 'no usable key for this token';
  }
}
