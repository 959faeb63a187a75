import { z } from 'zod';
import { SIGNING_ALGORITHMS } from '@jwt-ms/contracts';
import { env } from '@jwt-ms/service-core';
import type { AuthJwtModuleOptions } from './auth-jwt.options';
import { REVOCATION_FAILURE_POLICIES } from './revocation';

/**
 * Environment variables of the in-process revocation list (see RevocationView),
 * for every service that verifies tokens, the issuer included:
 * `REVOCATION_MAX_STALENESS_MS` and `REVOCATION_FAILURE_POLICY`.
 */
export const revocationEnvShape = {
  /** Oldest acceptable copy of the revocation list, in milliseconds (≥ 600: above the 500 ms heartbeat). */
  REVOCATION_MAX_STALENESS_MS: z.coerce
    .number({ message: 'expected a number of milliseconds' })
    .int('expected whole milliseconds')
    .min(600, 'expected at least 600 ms (the heartbeat is 500 ms)')
    .max(600_000, 'expected at most 600000 ms')
    .default(2000),
  /** `fail-closed` (503 while the copy is stale) or `fail-open` (answer from the last copy). */
  REVOCATION_FAILURE_POLICY: z
    .enum(REVOCATION_FAILURE_POLICIES, { message: `expected one of ${REVOCATION_FAILURE_POLICIES.join(', ')}` })
    .default('fail-closed'),
  /**
   * Most revocation entries a replica holds (its memory bound, about 40 bytes each); past it the policy applies.
   * The manifests size the verifiers' memory limit for the default.
   */
  REVOCATION_MAX_ENTRIES: z.coerce
    .number({ message: 'expected a number of entries' })
    .int('expected a whole number')
    .min(1, 'expected at least 1')
    .max(50_000_000, 'expected at most 50000000')
    .default(1_000_000),
};

/** Maps the {@link revocationEnvShape} variables to {@link AuthJwtModuleOptions} members. */
export function revocationOptionsFromEnv(config: {
  REVOCATION_MAX_STALENESS_MS: number;
  REVOCATION_FAILURE_POLICY: (typeof REVOCATION_FAILURE_POLICIES)[number];
  REVOCATION_MAX_ENTRIES: number;
}): Pick<AuthJwtModuleOptions, 'revocationMaxStalenessMs' | 'revocationFailurePolicy' | 'revocationMaxEntries'> {
  return {
    revocationMaxStalenessMs: config.REVOCATION_MAX_STALENESS_MS,
    revocationFailurePolicy: config.REVOCATION_FAILURE_POLICY,
    revocationMaxEntries: config.REVOCATION_MAX_ENTRIES,
  };
}

/**
 * Environment variables of a resource service's token verification:
 * `AUTH_ISSUER`, `AUTH_AUDIENCE`, `AUTH_JWKS_URI`, `AUTH_ALGORITHMS`,
 * `AUTH_CLOCK_TOLERANCE_SECONDS`, and the {@link revocationEnvShape} ones.
 *
 * @param defaults.audience this service's audience identifier, e.g. `orders-service`
 */
export function verifierEnvSchema(defaults: { audience: string }) {
  return z.object({
    AUTH_ISSUER: env.url(['http:', 'https:']).default('http://localhost:3000'),
    AUTH_AUDIENCE: z.string().min(1).default(defaults.audience),
    AUTH_JWKS_URI: env.url(['http:', 'https:']).default('http://localhost:3000/.well-known/jwks.json'),
    AUTH_ALGORITHMS: env
      .list()
      .pipe(z.array(z.enum(SIGNING_ALGORITHMS, { message: `expected a list of ${SIGNING_ALGORITHMS.join(', ')}` })))
      .default(['ES256']),
    /** How often the issuer's JWKS is refetched in the background, in seconds (keep it below the issuer's key lead time). */
    AUTH_JWKS_REFRESH_SECONDS: env.seconds(600, 1),
    /** At most 60 s: revocation entries outlive their token by REVOCATION_TTL_MARGIN_SECONDS (60). */
    AUTH_CLOCK_TOLERANCE_SECONDS: z.coerce
      .number({ message: 'expected a number of seconds' })
      .int('expected whole seconds')
      .min(0, 'expected 0..60 s')
      .max(60, 'expected 0..60 s')
      .default(5),
    /**
     * Longest accepted token lifetime (`exp − iat`), in seconds: the issuer's ACCESS_TOKEN_TTL_SECONDS. The issuer
     * publishes what its revocations cover; when that is shorter, it applies (and an error is logged).
     */
    AUTH_MAX_TOKEN_LIFETIME_SECONDS: env.seconds(900, 1),
    /** Entries of the verified-token cache; 0 turns it off (every request pays the signature check). */
    AUTH_VERIFIED_TOKEN_CACHE_SIZE: z.coerce
      .number({ message: 'expected a number of entries' })
      .int('expected a whole number')
      .min(0, 'expected 0..1000000')
      .max(1_000_000, 'expected 0..1000000')
      .default(10_000),
    ...revocationEnvShape,
  });
}

/** The variables {@link verifierEnvSchema} yields, plus `REDIS_URL` and `REDIS_CLUSTER_NODES`. */
export type VerifierEnv = z.output<ReturnType<typeof verifierEnvSchema>> & {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: string[];
};

/** Maps validated verifier variables to {@link AuthJwtModuleOptions}. */
export function authJwtOptionsFromEnv(config: VerifierEnv): AuthJwtModuleOptions {
  return {
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    keys: { jwksUri: config.AUTH_JWKS_URI },
    algorithms: config.AUTH_ALGORITHMS,
    clockToleranceSeconds: config.AUTH_CLOCK_TOLERANCE_SECONDS,
    maxTokenLifetimeSeconds: config.AUTH_MAX_TOKEN_LIFETIME_SECONDS,
    jwksCacheMaxAgeMs: config.AUTH_JWKS_REFRESH_SECONDS * 1000,
    verifiedTokenCacheSize: config.AUTH_VERIFIED_TOKEN_CACHE_SIZE,
    redisUrl: config.REDIS_URL,
    ...(config.REDIS_CLUSTER_NODES ? { redisClusterNodes: config.REDIS_CLUSTER_NODES } : {}),
    ...revocationOptionsFromEnv(config),
  };
}
