/**
 * The clients `npm start`, the native cluster and the tests run with when no
 * `OAUTH_CLIENTS` is given (never in production: the registry refuses these
 * secrets there). Their secrets are published in the README on purpose:
 *
 * | client | secret | grants | for |
 * |---|---|---|---|
 * | `first-party-app` | none (public) | `refresh_token` | the demo, CLIs, load tests (`/auth/login`) |
 * | `orders-service` | `orders-service-dev-secret-not-for-production` | token exchange | orders → users on behalf of the user |
 * | `reporting-job` | `reporting-job-dev-secret-not-for-production` | `client_credentials` | a scheduled job listing users |
 * | `console` | none (public) | `authorization_code` with PKCE | the browser console (apps/console) |
 *
 * The console's redirect URIs: `npm start` serves it on localhost:3003; `npm run cluster` behind its ingress,
 * on a port that may be chosen by the kernel (a loopback IP literal matches any port, RFC 8252 §7.3); compose's
 * gateway on localhost:8080; kind and minikube at jwt.localtest.me.
 *
 * The JSON shape is the one `OAUTH_CLIENTS` takes (docs/configuration.md).
 */
export const DEVELOPMENT_CLIENTS = [
  {
    client_id: 'first-party-app',
    grant_types: ['refresh_token'],
    scope: 'profile:read profile:write orders:read orders:write users:admin users:read orders:admin',
    audience: ['auth-service', 'users-service', 'orders-service'],
  },
  {
    client_id: 'orders-service',
    client_secret_hash:
      '$argon2id$v=19$m=65536,p=4,t=3$7Q2EjsKdqUN45hLZp9awvw$ut34eJRsClljWLUl8ObCIExNxEcIgdjx3Fnw6FbpaVQ',
    grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'],
    scope: 'profile:read',
    audience: ['users-service'],
    subject_token_audience: ['orders-service'],
  },
  {
    client_id: 'reporting-job',
    client_secret_hash:
      '$argon2id$v=19$m=65536,p=4,t=3$XuIw++T/mBmgqxP4EoXcgw$7VZeGogSkQmCvtT1+NhxPNhlrT64nmFQN/b8Xe2J8RM',
    grant_types: ['client_credentials'],
    scope: 'users:read',
    audience: ['users-service'],
  },
  {
    client_id: 'console',
    grant_types: ['authorization_code'],
    scope: 'profile:read profile:write orders:read orders:write users:admin users:read orders:admin',
    audience: ['auth-service', 'users-service', 'orders-service'],
    redirect_uris: [
      'http://localhost:3003/callback',
      'http://127.0.0.1/callback',
      'http://localhost:8080/callback',
      'http://jwt.localtest.me/callback',
    ],
  },
];

/** The development secrets' hashes: refused in production. */
export const DEVELOPMENT_SECRET_HASHES: readonly string[] = DEVELOPMENT_CLIENTS.flatMap((client) =>
  'client_secret_hash' in client && client.client_secret_hash ? [client.client_secret_hash] : [],
);
