// The environment each service of `npm start` and `npm run cluster` gets: the caller's, minus what only the
// issuer may see. A resource service never needs the admin password, the clients' secrets or the signing keys,
// so a leak of its environment (a crash dump, /proc, a debug endpoint) must not hold them.
import { readFileSync } from 'node:fs';

/** Variables only auth-service receives (scripts/issuer-only-env.json, shared with @jwt-ms/testing's serviceEnv). */
export const ISSUER_ONLY_ENV = JSON.parse(readFileSync(new URL('./issuer-only-env.json', import.meta.url), 'utf8'));

/**
 * @param {string} app the service, e.g. `users-service`
 * @param {Record<string, string | undefined>} env the caller's environment
 * @returns {Record<string, string | undefined>} `env`, without the issuer-only variables unless `app` is auth-service
 */
export function serviceEnv(app, env) {
  if (app === 'auth-service') return { ...env };
  return Object.fromEntries(Object.entries(env).filter(([name]) => !ISSUER_ONLY_ENV.includes(name)));
}
