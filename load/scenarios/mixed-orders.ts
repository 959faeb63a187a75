/**
 * Mixed create/read: each iteration places an order and reads it back, on the
 * orders service, with a token reused across iterations of the same VU.
 */
import { check } from 'k6';
import http from 'k6/http';
import { ORDERS_URL, PROFILE, USERS_URL } from '../lib/config.ts';
import { bearer, login, registerUser, requireHealthy } from '../lib/auth.ts';
import { optionsFor } from '../lib/profiles.ts';

export const options = optionsFor(PROFILE);

export function setup(): { tokens: string[] } {
  requireHealthy();
  return { tokens: Array.from({ length: 10 }, (_, index) => login(registerUser(`mixed${index}`)).access_token) };
}

export default function (data: { tokens: string[] }): void {
  const token = data.tokens[__VU % data.tokens.length];
  const created = http.post(
    `${ORDERS_URL}/orders`,
    JSON.stringify({ items: [{ sku: 'PEN-7', quantity: 2, unitPriceCents: 899 }] }),
    bearer(token),
  );
  check(created, { 'order 201': (r) => r.status === 201, 'total in cents': (r) => r.json('totalCents') === 1798 });
  const id = created.json('id') as string;
  check(http.get(`${ORDERS_URL}/orders/${id}`, bearer(token)), { 'read back 200': (r) => r.status === 200 });
  check(http.get(`${USERS_URL}/users/me`, bearer(token)), { 'profile 200': (r) => r.status === 200 });
}
