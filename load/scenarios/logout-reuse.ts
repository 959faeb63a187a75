/**
 * Logout, then reuse: every iteration logs in, uses the token, logs out, and
 * checks that both resource services refuse the same token at once.
 */
import { check } from 'k6';
import http from 'k6/http';
import { AUTH_URL, ORDERS_URL, PROFILE, USERS_URL } from '../lib/config.ts';
import { bearer, login, registerUser, requireHealthy } from '../lib/auth.ts';
import { optionsFor } from '../lib/profiles.ts';

export const options = optionsFor(PROFILE, {
  // Each iteration logs in, and argon2id makes a login deliberately slow: the whole run is held to
  // login-storm's bounds, and the requests that only use the token to the base ones.
  http_req_duration: ['p(95)<1500', 'p(99)<3000'],
  'http_req_duration{kind:token}': ['p(95)<200', 'p(99)<500'],
  'checks{check:revoked everywhere}': ['rate==1'],
});

/** The refusals after the logout are the expected answer, not failed requests. */
const REFUSED = { responseCallback: http.expectedStatuses(401) };

export function setup(): { emails: string[] } {
  requireHealthy();
  return { emails: Array.from({ length: 10 }, (_, index) => registerUser(`logout${index}`)) };
}

export default function (data: { emails: string[] }): void {
  const token = login(data.emails[__VU % data.emails.length]).access_token;
  const use = bearer(token, { kind: 'token' });
  check(http.get(`${USERS_URL}/users/me`, use), { 'accepted before logout': (r) => r.status === 200 });
  check(http.post(`${AUTH_URL}/auth/logout`, null, use), { 'logout 204': (r) => r.status === 204 });
  const users = http.get(`${USERS_URL}/users/me`, { ...use, ...REFUSED });
  const orders = http.get(`${ORDERS_URL}/orders`, { ...use, ...REFUSED });
  check(null, { 'revoked everywhere': () => users.status === 401 && orders.status === 401 });
}
