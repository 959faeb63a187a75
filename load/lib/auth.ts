import http from 'k6/http';
import { check, fail } from 'k6';
import { AUTH_URL, ORDERS_URL, PASSWORD, USERS_URL } from './config';

const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** The RFC 6749 §5.1 token response. */
export interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

/** `setup()` helper: every service must be ready, or the run stops with a clear message. */
export function requireHealthy(): void {
  for (const url of [AUTH_URL, USERS_URL, ORDERS_URL]) {
    const response = http.get(`${url}/health/ready`);
    if (response.status !== 200)
      fail(`${url}/health/ready answered ${response.status}: start the system first (npm start)`);
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

/** Bearer headers for a token. */
export function bearer(token: string): { headers: Record<string, string> } {
  return { headers: { ...JSON_HEADERS, Authorization: `Bearer ${token}` } };
}
