import http from 'k6/http';
import { check, fail } from 'k6';
import { AUTH_URL, ORDERS_URL, PASSWORD, USERS_URL } from './config.ts';

const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** The RFC 6749 §5.1 token response. */
export interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

/**
 * `setup()` helper: every service must answer, or the run stops with a clear
 * message. Only public paths the Ingress routes are used (`/health/*` is not
 * routed: each service has its own), so the same check works against
 * `npm start`, `npm run cluster` and a kind cluster's ingress:
 * the issuer's JWKS (200 with keys), and a protected route of each resource
 * service asked without a token (401 with a Bearer challenge: it runs and
 * verifies; a 404 or 503 would say it is not routed or not up).
 */
export function requireHealthy(): void {
  const probes = [
    { url: `${AUTH_URL}/.well-known/jwks.json`, status: 200, service: 'auth-service' },
    { url: `${USERS_URL}/users/me`, status: 401, service: 'users-service' },
    { url: `${ORDERS_URL}/orders`, status: 401, service: 'orders-service' },
  ];
  for (const probe of probes) {
    // The expected 401 is no failure: it must not count in http_req_failed.
    const response = http.get(probe.url, { responseCallback: http.expectedStatuses(probe.status) });
    const challenged = probe.status !== 401 || String(response.headers['Www-Authenticate'] ?? '').startsWith('Bearer');
    if (response.status !== probe.status || !challenged)
      fail(
        `${probe.service} is not answering: GET ${probe.url} gave ${response.status}, expected ${probe.status}; ` +
          'start the system first (npm start, npm run cluster or scripts/kind-up.sh) and check the *_URL variables',
      );
  }
}

/** Registers a fresh user; returns the email. */
export function registerUser(tag: string): string {
  const email = `${tag}.${Date.now()}.${Math.floor(Math.random() * 1e9)}@load.test`;
  const response = http.post(`${AUTH_URL}/auth/register`, JSON.stringify({ email, password: PASSWORD }), {
    headers: JSON_HEADERS,
  });
  check(response, { 'register 201': (r) => r.status === 201 });
  return email;
}

/** Logs in; fails the iteration on anything but 200. */
export function login(email: string): Tokens {
  const response = http.post(`${AUTH_URL}/auth/login`, JSON.stringify({ email, password: PASSWORD }), {
    headers: JSON_HEADERS,
  });
  if (!check(response, { 'login 200': (r) => r.status === 200 })) fail(`login answered ${response.status}`);
  return response.json() as unknown as Tokens;
}

/**
 * Request parameters with the token as a bearer credential (RFC 6750 §2.1).
 * `Content-Type: application/json` goes on every request, also a POST without
 * a body, as many real clients do; the services must take it.
 *
 * @param tags k6 tags for the requests, e.g. `{ kind: 'token' }` to hold them to a threshold of their own
 */
export function bearer(
  token: string,
  tags: Record<string, string> = {},
): { headers: Record<string, string>; tags: Record<string, string> } {
  return { headers: { ...JSON_HEADERS, Authorization: `Bearer ${token}` }, tags };
}
