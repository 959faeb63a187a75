import { z } from 'zod';
import { SIGNING_ALGORITHMS } from '@jwt-ms/contracts';
import { env, loadConfig, requireProductionDatabase, serviceEnvSchema } from '@jwt-ms/service-core';
import { REVOCATION_TTL_MARGIN_SECONDS, revocationEnvShape } from '@jwt-ms/auth-jwt';
import { parseAccountEmail } from './accounts/account-email';
import { passwordPolicyViolation } from './accounts/password-policy';

/** Passwords that must never guard an admin account in production. */
const PLACEHOLDER_PASSWORDS = ['admin', 'password', 'changeme', 'change-me', 'secret', 'admin123', 'password123'];

/**
 * The auth service's own audience identifier: its protected endpoints
 * (logout) accept only tokens whose `aud` names it.
 */
export const AUTH_SERVICE_AUDIENCE = 'auth-service';

const schema = serviceEnvSchema({ port: 3000, name: 'auth-service' })
  .extend(revocationEnvShape)
  .extend({
    /** `iss` of every token (RFC 7519 §4.1.1); also the base of the discovery document. */
    AUTH_ISSUER: env.url(['http:', 'https:']).default('http://localhost:3000'),
    /** `aud` of every access token: the resource services (RFC 7519 §4.1.3). */
    AUTH_AUDIENCE: env.list().default([AUTH_SERVICE_AUDIENCE, 'users-service', 'orders-service']),
    /** `client_id` of tokens issued through the first-party login (RFC 9068 §2.2). */
    AUTH_CLIENT_ID: z.string().min(1).default('first-party-app'),
    ACCESS_TOKEN_TTL_SECONDS: env.seconds(900, 30),
    /** A refresh token unused this long expires (idle timeout); each rotation starts a new one. */
    REFRESH_TOKEN_IDLE_TIMEOUT_SECONDS: env.seconds(7 * 24 * 3600, 1),
    /** A login session (refresh-token family) ends this long after the login, however active (RFC 9700 §4.14.2). */
    REFRESH_TOKEN_ABSOLUTE_LIFETIME_SECONDS: env.seconds(30 * 24 * 3600, 1),
    /**
     * Grace window after a refresh token was used, in seconds (RFC 9700 §4.14.2): a second use within it,
     * while the token issued in exchange is unused, gets the same new pair instead of revoking the session
     * (two tabs refreshing at once, a retry after a lost response). 5 s covers tabs woken together and a
     * retry on a slow mobile link, and keeps short the time a copied token can ride along unnoticed.
     * 0 disables it: every second use is reuse. At most 60 s.
     */
    REFRESH_TOKEN_REUSE_GRACE_SECONDS: env.seconds(5, 0).pipe(z.number().max(60, 'expected at most 60 s')),
    SIGNING_ALGORITHM: z
      .enum(SIGNING_ALGORITHMS, { message: `expected one of ${SIGNING_ALGORITHMS.join(', ')}` })
      .default('ES256'),
    /** Window of the credential rate limits (passwords and client secrets), in seconds. */
    AUTH_RATE_LIMIT_WINDOW_SECONDS: env.seconds(60, 1),
    /**
     * Attempts per client IP per window: password checks (login, register,
     * password change) share one count; failed client authentications
     * (introspection, revocation) have their own count of the same size.
     */
    AUTH_RATE_LIMIT_PER_IP: z.coerce.number().int().min(1).default(30),
    /**
     * Attempts per account per window: per email (login, register), per
     * subject (password change), per failed `client_id` (introspection, revocation).
     */
    AUTH_RATE_LIMIT_PER_ACCOUNT: z.coerce.number().int().min(1).default(10),
    /**
     * Requests per client IP per window to the token endpoints (`/oauth/token`, `/oauth/introspect`,
     * `/oauth/revoke`, `/auth/refresh`), successful or not. 300 a minute is a refresh every 0.2 s from
     * one address: far above a browser's or a service's need, low enough to bound a flood.
     */
    AUTH_TOKEN_RATE_LIMIT_PER_IP: z.coerce.number().int().min(1).default(300),
    /**
     * Requests per authenticated confidential client per window to the OAuth endpoints, counted once its
     * secret is proven. 6000 a minute (100/s) covers a service exchanging a token for each new user it
     * serves; a resource server that introspects every request needs more (or local verification).
     */
    AUTH_TOKEN_RATE_LIMIT_PER_CLIENT: z.coerce.number().int().min(1).default(6000),
    /**
     * RFC 7009 revocations of single access tokens one login session may list
     * (one `jti` entry each) within one access-token lifetime; the next one
     * revokes the whole session instead (one `sid` entry).
     */
    REVOCATION_TOKENS_PER_SESSION: z.coerce.number().int().min(1).default(5),
    /**
     * The same bound across all sessions of one subject, within one
     * access-token lifetime; past it, each revocation of an access token
     * revokes that token's session.
     */
    REVOCATION_TOKENS_PER_SUBJECT: z.coerce.number().int().min(1).default(20),
    /**
     * The client registry (RFC 6749 §2), as JSON: an array of
     * `{client_id, client_secret_hash?, grant_types, scope, audience, subject_token_audience?}`
     * (docs/configuration.md). From a Secret in a cluster; outside production the
     * development clients by default (README). Validated at start (`loadClientRegistry`).
     */
    OAUTH_CLIENTS: z.string().min(1).optional(),
    /** Path of a file holding the client registry's JSON (instead of `OAUTH_CLIENTS`). */
    OAUTH_CLIENTS_FILE: z.string().min(1).optional(),
    /**
     * Longest life of a token made by token exchange (RFC 8693), in seconds; never
     * longer than the subject token's remaining life.
     */
    TOKEN_EXCHANGE_TTL_SECONDS: env.seconds(300, 1),
    /**
     * Life of an authorization code, in seconds: at most 60 (RFC 6749 §4.1.2 recommends at most 10 minutes;
     * a browser redeems it within a second).
     */
    AUTHORIZATION_CODE_TTL_SECONDS: env.seconds(60, 1).pipe(z.number().max(60, 'expected at most 60 s')),
    /**
     * Life of the issuer's login session (its cookie, after a sign-in at `/oauth/authorize`), in seconds: within
     * it, another authorization request of the same browser is answered without the login page. Short: it is
     * also the life of a login page left open.
     */
    LOGIN_SESSION_TTL_SECONDS: env.seconds(600, 1).pipe(z.number().max(3600, 'expected at most 3600 s')),
    /** The private signing JWK Set as JSON (in a cluster: from a Secret). */
    SIGNING_JWKS: z.string().optional(),
    /** Path of a file holding the private signing JWK Set. */
    SIGNING_JWKS_FILE: z.string().optional(),
    /**
     * How long a rotated-in key is published before it signs, in seconds. Must
     * exceed the verifiers' JWKS refresh interval (AUTH_JWKS_REFRESH_SECONDS).
     */
    SIGNING_KEY_LEAD_SECONDS: env.seconds(900, 0),
    /** How often a key set file is checked for changes (a rotated Secret), in seconds. */
    SIGNING_KEYS_RELOAD_SECONDS: env.seconds(10, 1),
    /** Cache-Control max-age of the JWKS document, in seconds. */
    JWKS_MAX_AGE_SECONDS: env.seconds(300, 0),
    /**
     * How long to wait after Redis lost the revocation list before establishing a new one, in seconds. Unset: one
     * access-token lifetime + 60 s, the only value that never accepts a revoked token (docs/security.md). 0 (never in
     * production) re-establishes at once: for a laptop whose Redis keeps nothing on disk (`npm start`).
     */
    REVOCATION_LOSS_WAIT_SECONDS: z.coerce
      .number({ message: 'expected a number of seconds' })
      .int('expected whole seconds')
      .min(0, 'expected at least 0 s')
      .optional(),
    DATA_DIR: z.string().default('data/auth-service'),
    ADMIN_EMAIL: z.email({ message: 'expected an email address' }).optional(),
    ADMIN_PASSWORD: z.string().optional(),
  })
  .superRefine((config, context) => {
    requireProductionDatabase(config, context);
    if (!config.AUTH_AUDIENCE.includes(AUTH_SERVICE_AUDIENCE)) {
      context.addIssue({
        code: 'custom',
        path: ['AUTH_AUDIENCE'],
        message: `must include "${AUTH_SERVICE_AUDIENCE}" (logout is a protected resource of the auth service)`,
      });
    }
    if (config.ADMIN_EMAIL && !config.ADMIN_PASSWORD) {
      context.addIssue({ code: 'custom', path: ['ADMIN_PASSWORD'], message: 'required when ADMIN_EMAIL is set' });
    }
    // The admin account follows the rules of every account: its address in canonical form, its password the policy.
    const adminEmail = config.ADMIN_EMAIL ? parseAccountEmail(config.ADMIN_EMAIL) : null;
    if (adminEmail && !adminEmail.ok) {
      context.addIssue({
        code: 'custom',
        path: ['ADMIN_EMAIL'],
        message: `not usable as an account: ${adminEmail.reason}`,
      });
    }
    const weakAdmin = config.ADMIN_PASSWORD
      ? passwordPolicyViolation(config.ADMIN_PASSWORD, 'it', { email: config.ADMIN_EMAIL })
      : null;
    if (weakAdmin) context.addIssue({ code: 'custom', path: ['ADMIN_PASSWORD'], message: weakAdmin });
    if (config.NODE_ENV === 'production' && config.ADMIN_PASSWORD) {
      const weak =
        config.ADMIN_PASSWORD.length < 12 || PLACEHOLDER_PASSWORDS.includes(config.ADMIN_PASSWORD.toLowerCase());
      if (weak) {
        context.addIssue({
          code: 'custom',
          path: ['ADMIN_PASSWORD'],
          message: 'in production it must be at least 12 characters and not a placeholder',
        });
      }
    }
    const safeWait = config.ACCESS_TOKEN_TTL_SECONDS + REVOCATION_TTL_MARGIN_SECONDS;
    if (config.NODE_ENV === 'production' && (config.REVOCATION_LOSS_WAIT_SECONDS ?? safeWait) < safeWait) {
      context.addIssue({
        code: 'custom',
        path: ['REVOCATION_LOSS_WAIT_SECONDS'],
        message: `in production it must be at least ${safeWait} (ACCESS_TOKEN_TTL_SECONDS + ${REVOCATION_TTL_MARGIN_SECONDS}), or unset`,
      });
    }
    if (config.NODE_ENV === 'production' && !config.SIGNING_JWKS && !config.SIGNING_JWKS_FILE) {
      context.addIssue({
        code: 'custom',
        path: ['SIGNING_JWKS'],
        message:
          'production needs the signing keys: set SIGNING_JWKS (JSON) or SIGNING_JWKS_FILE (path); generate a set with `npm run keys:generate`',
      });
    }
  });

/** Injection token of the {@link AuthServiceConfig}. */
export const AUTH_SERVICE_CONFIG = Symbol('AUTH_SERVICE_CONFIG');

/** The auth service's validated configuration. Times in seconds. */
export type AuthServiceConfig = z.output<typeof schema>;

/**
 * @param source environment variables (default `process.env`)
 * @throws ConfigError listing each invalid variable
 */
export function loadAuthServiceConfig(source: NodeJS.ProcessEnv = process.env): AuthServiceConfig {
  return loadConfig(schema, source);
}
