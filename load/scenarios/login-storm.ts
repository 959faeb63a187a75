/**
 * Login storm: many users logging in at once. argon2id makes each login
 * deliberately expensive; the rate limits (per IP, per account) shape the rest.
 * Run the auth service with high AUTH_RATE_LIMIT_* values when the load comes
 * from one address.
 */
import { check } from 'k6';
import http from 'k6/http';
import { AUTH_URL, PASSWORD, PROFILE } from '../lib/config.ts';
import { registerUser, requireHealthy } from '../lib/auth.ts';
import { optionsFor } from '../lib/profiles.ts';

export const options = optionsFor(PROFILE, { http_req_duration: ['p(95)<1500', 'p(99)<3000'] });

export function setup(): { emails: string[] } {
  requireHealthy();
  return { emails: Array.from({ length: 20 }, (_, index) => registerUser(`storm${index}`)) };
}

export default function (data: { emails: string[] }): void {
  const email = data.emails[Math.floor(Math.random() * data.emails.length)];
  const response = http.post(`${AUTH_URL}/auth/login`, JSON.stringify({ email, password: PASSWORD }), {
    headers: { 'Content-Type': 'application/json' },
  });
  check(response, {
    'login 200': (r) => r.status === 200,
    'token issued': (r) => typeof r.json('access_token') === 'string',
  });
}
