/**
 * Read-heavy orders with valid tokens: the hot path of a resource service
 * (signature check, revocation check, one query). Tokens repeat, as real
 * clients reuse them for their whole lifetime.
 */
import { check } from 'k6';
import http from 'k6/http';
import { ORDERS_URL, PROFILE } from '../lib/config.ts';
import { bearer, login, registerUser, requireHealthy } from '../lib/auth.ts';
import { optionsFor } from '../lib/profiles.ts';

export const options = optionsFor(PROFILE);

export function setup(): { tokens: string[] } {
  requireHealthy();
  const tokens = Array.from({ length: 10 }, (_, index) => {
    const token = login(registerUser(`reader${index}`)).access_token;
    http.post(
      `${ORDERS_URL}/orders`,
      JSON.stringify({ items: [{ sku: 'BOOK-1', quantity: 1, unitPriceCents: 1250 }] }),
      bearer(token),
    );
    return token;
  });
  return { tokens };
}

export default function (data: { tokens: string[] }): void {
  const token = data.tokens[__VU % data.tokens.length];
  const response = http.get(`${ORDERS_URL}/orders`, bearer(token));
  check(response, { 'orders 200': (r) => r.status === 200, 'one order': (r) => r.json('total') === 1 });
}
