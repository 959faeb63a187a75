import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { KeyObject } from 'node:crypto';
import type { ReadinessProbe } from '@jwt-ms/service-core';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type FlattenedJWSInput,
} from 'jose';
import { AUTH_JWT_SETTINGS, type ResolvedAuthJwtOptions } from './auth-jwt.options';
import { TokenRejectedError, VerificationUnavailableError } from './token-rejection';
import { VerifiedTokenCache } from './verified-token.cache';
import { VerifierMetrics } from './verifier-metrics';

type KeyLookup = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

/**
 * Thrown when no key set has ever been loaded from the issuer (it is down or
 * unreachable): the token may be fine, so this is a 503, not a 401.
 */
export class VerificationKeysUnavailableError extends VerificationUnavailableError {
  constructor() {
    super('signing_keys', "the issuer's public keys could not be loaded");
    this.name = 'VerificationKeysUnavailableError';
  }
}

/**
 * Finds the public key that verifies a token, by its `kid` and `alg`, in the
 * issuer's JWK Set (RFC 7517 §5).
 *
 * In-process key sets (the issuer's own) are re-read every
 * {@link LOCAL_KEYS_REFRESH_MS}, and on an unknown `kid`: a key withdrawn from
 * them stops verifying within a second.
 *
 * Remote key sets:
 * - are fetched at start, then refreshed in the background every
 *   `jwksCacheMaxAgeMs`; a failed refresh keeps the last good set (an issuer
 *   outage does not stop verification);
 * - are refetched on an unknown `kid` (key rotation), but at most one fetch
 *   per `jwksCooldownMs`, whether fetches succeed or fail, so a flood of
 *   made-up `kid`s or an issuer outage cannot turn into a fetch per request;
 * - when none has ever loaded, requests get {@link VerificationKeysUnavailableError} (503).
 *
 * Selection (jose): a key is usable only if its `kty`/`crv` fit the token's
 * `alg` and, when the JWK names an `alg`, that it is the same (RFC 7517 §4.4):
 * the algorithm is taken from the key, never from the token alone (RFC 8725 §2.1).
 * Keys are converted once to Node `KeyObject`s (what `crypto.verify` takes)
 * and the conversion is cached.
 */
@Injectable()
export class SigningKeyResolver implements ReadinessProbe, OnModuleInit, OnApplicationShutdown {
  /** `signing-keys` in `GET /health/ready`: down until the issuer's key set has been loaded once. */
  readonly name = 'signing-keys';
  private readonly logger = new Logger('SigningKeyResolver');
  private lastProbeFetchAt = Number.NEGATIVE_INFINITY;
  private readonly keyObjects = new WeakMap<CryptoKey, KeyObject>();
  /** jose's selection, remembered per `alg`, then `kid`, for the key set in use (emptied when it changes). */
  private readonly selected = new Map<string | undefined, Map<string | undefined, KeyObject>>();
  private selections = 0;
  private current?: KeyLookup;
  private currentSnapshot?: string;
  /** Keys in the set in use (`jwks_keys`). */
  private keyCount = 0;
  private fetcher?: ReturnType<typeof createRemoteJWKSet>;
  /** When a request last caused a fetch (unknown `kid`, no keys yet); scheduled refreshes don't count. */
  private lastOnDemandFetchAt = Number.NEGATIVE_INFINITY;
  private pendingFetch?: Promise<void>;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(AUTH_JWT_SETTINGS) private readonly options: ResolvedAuthJwtOptions,
    @Optional() private readonly verifiedTokens: VerifiedTokenCache = new VerifiedTokenCache(options),
    @Optional() private readonly metrics: VerifierMetrics = new VerifierMetrics(),
  ) {
    this.metrics.readKeysFrom(() => this.keyCount);
    const source = this.options.keys;
    if ('jwksUri' in source) {
      // Used only to fetch; caching and cooldown are ours (see the class comment).
      this.fetcher = createRemoteJWKSet(new URL(source.jwksUri), {
        timeoutDuration: this.options.jwksTimeoutMs,
        cooldownDuration: 0,
        cacheMaxAge: Number.POSITIVE_INFINITY,
      });
    }
  }

  /**
   * Loads the key set at start (a remote one without failing the start) and
   * schedules refreshes: a remote set every `jwksCacheMaxAgeMs`; an in-process
   * set every {@link LOCAL_KEYS_REFRESH_MS}, since it changes without a request
   * asking (the issuer's rotation, a key withdrawn from its file, a key's `exp`
   * passing) and a key withdrawn must stop verifying within that bound, not at
   * the next unknown `kid`.
   */
  onModuleInit(): void {
    void this.refresh(true);
    this.timer = setInterval(
      () => void this.refresh(true),
      this.fetcher ? this.options.jwksCacheMaxAgeMs : LOCAL_KEYS_REFRESH_MS,
    );
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Readiness: a replica that has never loaded the issuer's keys can only
   * answer 503, so it is not ready (a load balancer sends it nothing). Once
   * loaded, the keys are kept even if the issuer goes away: still ready. While
   * not loaded, each probe asks the issuer again, at most once a second.
   *
   * @returns up, and where the keys come from (`jwks_uri` or `local`)
   */
  probe(): { up: boolean; details: Record<string, unknown> } {
    const source = this.fetcher ? 'jwks_uri' : 'local';
    if (!this.fetcher && !this.current) void this.refresh(); // in-process keys install at once
    if (this.current) return { up: true, details: { source } };
    if (this.options.now() - this.lastProbeFetchAt >= 1000) {
      this.lastProbeFetchAt = this.options.now();
      void this.refresh(true);
    }
    return { up: false, details: { source, message: "the issuer's public keys have not been loaded yet" } };
  }

  /**
   * @param header the token's protected header, already checked for `alg` and `kid`
   * @returns the verification key as a `KeyObject`
   * @throws TokenRejectedError `unknown_kid` (or `bad_alg`, an algorithm jose does not support) when no single key of the set fits (unknown `kid`, `alg` that does not
   *   fit the key, a `kid` named twice)
   * @throws VerificationKeysUnavailableError when no key set could ever be loaded
   */
  async resolve(header: JWSHeaderParameters): Promise<KeyObject> {
    const known = this.keyFor(header);
    if (known) return known;
    let key: CryptoKey;
    try {
      key = await this.lookup(header);
    } catch (error) {
      if (error instanceof VerificationKeysUnavailableError) throw error;
      throw lookupRejection(error);
    }
    let keyObject = this.keyObjects.get(key);
    if (!keyObject) {
      keyObject = KeyObject.from(key);
      this.keyObjects.set(key, keyObject);
    }
    if (this.selections < MAX_SELECTIONS) {
      let byKid = this.selected.get(header.alg);
      if (!byKid) this.selected.set(header.alg, (byKid = new Map()));
      if (!byKid.has(header.kid)) this.selections += 1;
      byKid.set(header.kid, keyObject);
    }
    return keyObject;
  }

  /**
   * The key {@link resolve} chose before for this `alg` and `kid` in the
   * current key set, synchronously: the hot path of a verifier, once warm.
   *
   * @returns the key, or undefined when it must be looked up (first use, or the key set changed)
   */
  keyFor(header: JWSHeaderParameters): KeyObject | undefined {
    return this.selected.get(header.alg)?.get(header.kid);
  }

  private async lookup(header: JWSHeaderParameters): Promise<CryptoKey> {
    const token = { payload: '', signature: '' };
    if (!this.current) {
      await this.refresh();
      if (!this.current) throw new VerificationKeysUnavailableError();
    }
    try {
      return await this.current(header, token);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw error;
      const before = this.current;
      await this.refresh(); // perhaps a rotated key: look again, within the cooldown
      if (this.current === before) throw error;
      return this.current(header, token);
    }
  }

  /**
   * Reloads the key set: from the issuer (at most once per cooldown, unless
   * `scheduled`), or from the in-process source. Never throws: a failure keeps
   * the last good set.
   */
  private refresh(scheduled = false): Promise<void> {
    if (!this.fetcher) {
      const source = this.options.keys as { localJwks: () => JSONWebKeySet };
      try {
        this.install(source.localJwks());
      } catch (error) {
        this.logger.warn(`could not read the in-process key set (${(error as Error).name}); keeping the last one`);
      }
      return Promise.resolve();
    }
    if (this.pendingFetch) return this.pendingFetch;
    if (!scheduled) {
      if (this.options.now() - this.lastOnDemandFetchAt < this.options.jwksCooldownMs) return Promise.resolve();
      this.lastOnDemandFetchAt = this.options.now();
    }
    const fetcher = this.fetcher;
    this.pendingFetch = fetcher
      .reload()
      .then(() => {
        this.metrics.countJwksFetch(true);
        this.install(fetcher.jwks() as JSONWebKeySet);
      })
      .catch((error: unknown) => {
        this.metrics.countJwksFetch(false);
        this.logger.warn(
          `could not load the issuer's JWKS (${(error as { code?: string; name?: string }).code ?? (error as Error).name}); ` +
            (this.current ? 'keeping the last good key set' : 'no key set yet: requests get 503'),
        );
      })
      .finally(() => {
        this.pendingFetch = undefined;
      });
    return this.pendingFetch;
  }

  /** Switches to a key set, unless it is the one in use (keeps the cached key conversions). */
  private install(jwks: JSONWebKeySet): void {
    const snapshot = JSON.stringify(jwks);
    if (snapshot === this.currentSnapshot) return;
    const replacing = this.currentSnapshot !== undefined;
    this.current = createLocalJWKSet(jwks);
    this.keyCount = Array.isArray(jwks.keys) ? jwks.keys.length : 0;
    this.currentSnapshot = snapshot;
    this.selected.clear();
    this.selections = 0;
    if (replacing) this.verifiedTokens.clear();
  }
}

/**
 * Interval of the re-read of an in-process key set, in milliseconds: the
 * longest a key withdrawn from it keeps verifying. Reading it is a call and a
 * JSON serialisation of a few public keys.
 */
export const LOCAL_KEYS_REFRESH_MS = 1000;

/** Bounds the selection memo: only keys of the set are ever stored (a made-up `kid` never resolves). */
const MAX_SELECTIONS = 64;

function lookupRejection(error: unknown): TokenRejectedError {
  switch ((error as { code?: string }).code) {
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return new TokenRejectedError('unknown_kid', 'no key of the issuer fits the "kid" and "alg" of this token');
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new TokenRejectedError('unknown_kid', 'the "kid" is ambiguous');
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new TokenRejectedError('bad_alg', 'unexpected "alg" header value');
    default:
      return new TokenRejectedError('unknown_kid', 'no usable key for this token');
  }
}
