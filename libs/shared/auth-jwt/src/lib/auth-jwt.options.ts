import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { JSONWebKeySet } from 'jose';
import type { SigningAlgorithm } from '@jwt-ms/contracts';
import type { RevocationFailurePolicy } from './revocation/revocation';

/**
 * Where verification keys come from. A resource service names the issuer's
 * JWKS URL; the issuer itself hands over its own public key set.
 */
export type VerificationKeySource =
  /** The issuer's JWKS document (RFC 7517 §5), fetched and cached. */
  | { jwksUri: string }
  /** A key set held in this process; called every second and on an unknown `kid`, so it may change (rotation, withdrawal). */
  | { localJwks: () => JSONWebKeySet };

/** Configuration of {@link AuthJwtModule}. */
export interface AuthJwtModuleOptions {
  /** The exact `iss` value to accept (RFC 7519 §4.1.1), e.g. `http://localhost:3000`. */
  issuer: string;
  /** This service's audience identifier; the token's `aud` must contain it (RFC 7519 §4.1.3). */
  audience: string;
  /** Where the issuer's public keys come from. */
  keys: VerificationKeySource;
  /**
   * Accepted JWS algorithms (RFC 8725 §3.1). The token's `alg` must be in this
   * list *and* fit the key its `kid` names. Default `['ES256']`.
   */
  algorithms?: SigningAlgorithm[];
  /** Allowed clock skew for `exp`, `nbf` and `iat`, in seconds. Default 5. */
  clockToleranceSeconds?: number;
  /**
   * Longest accepted token lifetime `exp − iat`, in seconds: the issuer's
   * access-token lifetime. Longer tokens are refused, since a session's or a
   * subject's revocation lasts only that long. The issuer publishes the
   * lifetime its revocations cover with the revocation list; when that is
   * shorter, the shorter one applies. Default 900.
   */
  maxTokenLifetimeSeconds?: number;
  /** Redis URL of the revocation blacklist (`redis://host:6379`). */
  redisUrl: string;
  /** Seed nodes of a Redis Cluster holding the revocation list (`redis://host:port` URLs); when given, `redisUrl` is not used. */
  redisClusterNodes?: readonly string[];
  /** Largest accepted token, in bytes; larger ones are refused before parsing. Default 4096. */
  maxTokenBytes?: number;
  /** Minimum time between two JWKS fetches triggered by an unknown `kid`, in milliseconds. Default 30000. */
  jwksCooldownMs?: number;
  /** Interval of the background JWKS refresh, in milliseconds. Default 600000. */
  jwksCacheMaxAgeMs?: number;
  /** Timeout of one JWKS fetch, in milliseconds. Default 5000. */
  jwksTimeoutMs?: number;
  /** Entries of the verified-token cache (0 turns it off). Default 10000. */
  verifiedTokenCacheSize?: number;
  /** Longest life of a verified-token cache entry, in milliseconds (never past the token's `exp`). Default 60000. */
  verifiedTokenCacheTtlMs?: number;
  /**
   * Oldest acceptable copy of the revocation list, in milliseconds: beyond it
   * (Redis unreachable, its log not arriving) `revocationFailurePolicy`
   * applies. Also the worst-case delay for a revocation to reach a replica cut
   * off from Redis. Default 2000.
   */
  revocationMaxStalenessMs?: number;
  /** What to do with a stale revocation list: `fail-closed` (503, default) or `fail-open`. */
  revocationFailurePolicy?: RevocationFailurePolicy;
  /**
   * Longest wait of one blocking read of the revocation log, in milliseconds: each read that comes back proves the
   * copy complete as of when it was sent, so this is the freshness heartbeat. Default 500.
   */
  revocationHeartbeatMs?: number;
  /**
   * Most revocation entries this process holds (tokens, sessions and subject watermarks together): its memory bound,
   * about 40 bytes an entry. Past it the copy is incomplete, and `revocationFailurePolicy` applies. Default 1000000.
   */
  revocationMaxEntries?: number;
  /**
   * The clock of the time-bounded caches, in milliseconds since the epoch.
   * Default `Date.now`; tests pass one they move instead of sleeping.
   */
  now?: () => number;
  /** Register the guards globally (`APP_GUARD`) so every route is protected unless `@Public()`. Default true. */
  global?: boolean;
}

/** {@link AuthJwtModuleOptions} with every default applied. */
export type ResolvedAuthJwtOptions = Readonly<Required<AuthJwtModuleOptions>>;

/**
 * Injection token of the {@link ResolvedAuthJwtOptions}: {@link AuthJwtModule}
 * resolves its options once into this provider, and every class of the lib
 * injects it (none resolves options itself).
 */
export const AUTH_JWT_SETTINGS = Symbol('AUTH_JWT_SETTINGS');

/**
 * Applies defaults; called once, by the module's {@link AUTH_JWT_SETTINGS} provider (and by tests
 * or tools that build the classes by hand).
 *
 * @throws TypeError naming the option on a value that cannot work
 */
export function resolveOptions(options: AuthJwtModuleOptions): ResolvedAuthJwtOptions {
  const resolved: ResolvedAuthJwtOptions = {
    algorithms: ['ES256'],
    clockToleranceSeconds: 5,
    maxTokenLifetimeSeconds: 900,
    maxTokenBytes: 4096,
    jwksCooldownMs: 30_000,
    jwksCacheMaxAgeMs: 600_000,
    jwksTimeoutMs: 5000,
    verifiedTokenCacheSize: 10_000,
    verifiedTokenCacheTtlMs: 60_000,
    revocationMaxStalenessMs: 2000,
    revocationFailurePolicy: 'fail-closed',
    revocationHeartbeatMs: 500,
    revocationMaxEntries: 1_000_000,
    redisClusterNodes: [],
    global: true,
    now: Date.now,
    ...options,
  };
  if (!resolved.issuer) throw new TypeError('AuthJwtModule: "issuer" is required');
  if (!resolved.audience) throw new TypeError('AuthJwtModule: "audience" is required');
  if (!(Number.isInteger(resolved.maxTokenLifetimeSeconds) && resolved.maxTokenLifetimeSeconds > 0)) {
    throw new TypeError('AuthJwtModule: "maxTokenLifetimeSeconds" must be a positive whole number of seconds');
  }
  if (resolved.algorithms.length === 0) throw new TypeError('AuthJwtModule: "algorithms" must not be empty');
  if (!(resolved.revocationHeartbeatMs > 0 && resolved.revocationHeartbeatMs < resolved.revocationMaxStalenessMs)) {
    throw new TypeError('AuthJwtModule: "revocationHeartbeatMs" must be positive and below "revocationMaxStalenessMs"');
  }
  if (!(Number.isInteger(resolved.revocationMaxEntries) && resolved.revocationMaxEntries > 0)) {
    throw new TypeError('AuthJwtModule: "revocationMaxEntries" must be a positive whole number');
  }
  return resolved;
}

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN: AUTH_JWT_OPTIONS } =
  new ConfigurableModuleBuilder<AuthJwtModuleOptions>().setClassMethodName('forRoot').build();
