/**
 * Key rotation under load: readers call GET /orders with valid tokens while,
 * a third of the way in, an admin rotates the issuer's signing keys
 * (POST /auth/admin/keys/rotate). The new key is published before it signs
 * (SIGNING_KEY_LEAD_SECONDS) and the old one stays until its last token has
 * expired, so no request may fail: the thresholds say exactly that.
 *
 *   k6 run -e ADMIN_EMAIL=… -e ADMIN_PASSWORD=… load/scenarios/key-rotation.ts
 *
 * The system must have been started with the same ADMIN_EMAIL and ADMIN_PASSWORD.
 */
import { check, fail } from 'k6';
import http from 'k6/http';
import type { Options } from 'k6/options';
import { AUTH_URL, ORDERS_URL } from '../lib/config';
import { bearer, login, registerUser, requireHealthy } from '../lib/auth';

const ADMIN_EMAIL = __ENV['ADMIN_EMAIL'] || '';
const ADMIN_PASSWORD = __ENV['ADMIN_PASSWORD'] || '';

export const options: Options = {
  scenarios: {
    readers: { executor: 'constant-vus', exec: 'read', vus: 10, duration: '90s' },
    rotation: { executor: 'per-vu-iterations', exec: 'rotate', vus: 1, iterations: 1, startTime: '30s' },
  },
  thresholds: {
    // Not one failed read across the rotation.
    'http_req_failed{scenario:readers}': ['rate==0'],
    'checks{scenario:readers}': ['rate==1'],
    'checks{scenario:rotation}': ['rate==1'],
  },
};

export function setup(): { tokens: string[]; adminToken: string } {
  requireHealthy();
  if (!ADMIN_EMAIL || !ADMIN_PASSWORD)
    fail('set ADMIN_EMAIL and ADMIN_PASSWORD (-e) to the admin the system runs with');
  const admin = http.post(`${AUTH_URL}/auth/login`, JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }), {
    headers: { 'Content-Type': 'application/json' },
  });
  if (admin.status !== 200) fail(`admin login answered ${admin.status}`);
  const tokens = Array.from({ length: 10 }, (_, index) => login(registerUser(`rotation${index}`)).access_token);
  return { tokens, adminToken: admin.json('access_token') as string };
}

export function read(data: { tokens: string[] }): void {
  const response = http.get(`${ORDERS_URL}/orders`, bearer(data.tokens[__VU % data.tokens.length]));
  check(response, { 'orders 200 across the rotation': (r) => r.status === 200 });
}

export function rotate(data: { adminToken: string }): void {
  const response = http.post(`${AUTH_URL}/auth/admin/keys/rotate`, null, bearer(data.adminToken));
  check(response, { 'keys rotated': (r) => r.status === 200 || r.status === 201 });
}
