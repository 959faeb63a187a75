import { z } from 'zod';
import { verifierEnvSchema } from '@jwt-ms/auth-jwt';
import { env, loadConfig, requireProductionDatabase, serviceEnvSchema } from '@jwt-ms/service-core';

/**
 * orders-service's secret in the development client registry (the issuer's
 * `development-clients.ts`, the README's table): good only outside
 * production, which refuses it.
 */
export const DEVELOPMENT_CLIENT_SECRET = 'orders-service-dev-secret-not-for-production';

const schema = serviceEnvSchema({ port: 3002, name: 'orders-service' })
  .extend(verifierEnvSchema({ audience: 'orders-service' }).shape)
  .extend({
    /**
     * Where an order's `customerName` comes from: `users-service` (a call on the customer's behalf when it
     * is placed), or `off` (no call, null names: a deployment without users-service, and the bench's baseline).
     */
    CUSTOMER_NAMES: z
      .enum(['users-service', 'off'], { message: 'expected users-service or off' })
      .default('users-service'),
    /** Base URL of the users service, which placing an order calls (its Kubernetes Service in a cluster). */
    USERS_SERVICE_URL: env.url(['http:', 'https:']).default('http://127.0.0.1:3001'),
    /** users-service's audience: the exchanged token is for it alone (RFC 8693 `audience`). */
    USERS_SERVICE_AUDIENCE: z.string().min(1).default('users-service'),
    /**
     * The bound on the whole downstream step of placing an order (token exchange and users call), in
     * milliseconds; past it the order is refused with 503 and nothing is written.
     */
    USERS_SERVICE_TIMEOUT_MS: z.coerce
      .number({ message: 'expected a number of milliseconds' })
      .int('expected whole milliseconds')
      .min(50, 'expected at least 50 ms')
      .max(60_000, 'expected at most 60000 ms')
      .default(2000),
    /** The issuer's token endpoint (RFC 8414 `token_endpoint`); default: `/oauth/token` beside `AUTH_JWKS_URI`. */
    AUTH_TOKEN_ENDPOINT: env.url(['http:', 'https:']).optional(),
    /** This service's client id at the issuer: the exchanged tokens' `act.sub` (RFC 8693 §4.1). */
    OAUTH_CLIENT_ID: z.string().min(1).default('orders-service'),
    /** Its client secret (from a Secret in a cluster); outside production, the development registry's. */
    OAUTH_CLIENT_SECRET: z.string().min(1).optional(),
    /**
     * Whether `POST /orders?explain=exchange` may show the caller the exchanged token decoded (header and
     * claims, never the token): `on` or `off`; default `off` in production, `on` elsewhere
     * (docs/security.md, "Showing the exchanged token").
     */
    EXPLAIN_EXCHANGE: z.enum(['on', 'off'], { message: 'expected on or off' }).optional(),
  })
  .superRefine(requireProductionDatabase)
  .superRefine((config, context) => {
    if (config.NODE_ENV !== 'production') return;
    if (config.OAUTH_CLIENT_SECRET === undefined || config.OAUTH_CLIENT_SECRET === DEVELOPMENT_CLIENT_SECRET) {
      context.addIssue({
        code: 'custom',
        path: ['OAUTH_CLIENT_SECRET'],
        message: "production needs this client's own secret (not the development one): set OAUTH_CLIENT_SECRET",
      });
    }
  })
  .transform((config) => ({
    ...config,
    AUTH_TOKEN_ENDPOINT: config.AUTH_TOKEN_ENDPOINT ?? new URL('/oauth/token', config.AUTH_JWKS_URI).href,
    OAUTH_CLIENT_SECRET: config.OAUTH_CLIENT_SECRET ?? DEVELOPMENT_CLIENT_SECRET,
    EXPLAIN_EXCHANGE: config.EXPLAIN_EXCHANGE ?? (config.NODE_ENV === 'production' ? 'off' : 'on'),
  }));

/** Injection token of the {@link OrdersServiceConfig}. */
export const ORDERS_SERVICE_CONFIG = Symbol('ORDERS_SERVICE_CONFIG');

/** The orders service's validated configuration. Times in seconds unless the name says `_MS` (milliseconds). */
export type OrdersServiceConfig = z.output<typeof schema>;

/**
 * @param source environment variables (default `process.env`)
 * @throws ConfigError listing each invalid variable
 */
export function loadOrdersServiceConfig(source: NodeJS.ProcessEnv = process.env): OrdersServiceConfig {
  return loadConfig(schema, source);
}
