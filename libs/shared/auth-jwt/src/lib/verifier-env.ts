import { z } from 'zod';
import { SIGNING_ALGORITHMS } from '@jwt-ms/contracts';
import { env } from '@jwt-ms/service-core';
import type { AuthJwtModuleOptions } from './auth-jwt.options';

/**
 * Environment variables of a resource service's token verification:
 * `AUTH_ISSUER`, `AUTH_AUDIENCE`, `AUTH_JWKS_URI`, `AUTH_ALGORITHMS`,
 * `AUTH_CLOCK_TOLERANCE_SECONDS`.
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
  });
}

/** The variables {@link verifierEnvSchema} yields, plus `REDIS_URL`. */
export type VerifierEnv = z.output<ReturnType<typeof verifierEnvSchema>> & { REDIS_URL: string };

/** Maps validated verifier variables to {@link AuthJwtModuleOptions}. */
export function authJwtOptionsFromEnv(config: VerifierEnv): AuthJwtModuleOptions {
  return {
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    keys: { jwksUri: config.AUTH_JWKS_URI },
    algorithms: config.AUTH_ALGORITHMS,
    clockToleranceSeconds: config.AUTH_CLOCK_TOLERANCE_SECONDS,
    jwksCacheMaxAgeMs: config.AUTH_JWKS_REFRESH_SECONDS * 1000,
    redisUrl: config.REDIS_URL,
  };
}
