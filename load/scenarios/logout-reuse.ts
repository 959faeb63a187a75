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
  // The refusals are expected 401s, not failures of the system.
  http_req_failed: ['rate<0.5'],
  'checks{check:revoked everywhere}': ['rate==1'],
});

export function setup(): { emails: string[] } {
  requireHealthy();
  return { emails: Array.from({ length: 10 }, (_, index) => registerUser(`logout${index}`)) };
}

export default function (data: { emails: string[] }): void {
  const token = login(data.emails[__VU % data.emails.length]).access_token;
  check(http.get(`${USERS_URL}/users/me`, bearer(token)), { 'accepted before logout': (r) => r.status === 200 });
  check(http.post(`${AUTH_URL}/auth/logout`, null, bearer(token)), { 'logout 204': (r) => r.status === 204 });
  const users = http.get(`${USERS_URL}/users/me`, bearer(token));
  const orders = http.get(`${ORDERS_URL}/orders`, bearer(token));
  check(null, { 'revoked everywhere': () => users.status === 401 && orders.status === 401 });
}
