import { randomUUID } from 'node:crypto';
import { startStack, type Stack } from './support/stack';
import { call, expectProblem } from './support/http';

const PASSWORD = 'correct horse battery staple';

describe('abuse limits: rate limits in Redis, security headers, CORS closed by default', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack('sqlite', {
      // X-Forwarded-For from the test stands for distinct clients, as an ingress would set it.
      'auth-service': { AUTH_RATE_LIMIT_PER_IP: '5', AUTH_RATE_LIMIT_PER_ACCOUNT: '3', TRUSTED_PROXIES: '127.0.0.1' },
      'users-service': { CORS_ORIGINS: 'https://app.example.test' },
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  /** A client address no other run uses: the IPv6 documentation prefix plus random bits. */
  const clientIp = () => `2001:db8::${randomUUID().slice(0, 4)}:${randomUUID().slice(0, 4)}`;
  const login = (email: string, ip: string) =>
    call('POST', `${stack.auth}/auth/login`, {
      body: { email, password: 'wrong password' },
      headers: { 'x-forwarded-for': ip },
    });

  it('limits login attempts per account, whatever the client IP, with Retry-After', async () => {
    const email = `target.${randomUUID()}@example.test`;
    for (let attempt = 0; attempt < 3; attempt += 1) expect((await login(email, clientIp())).status).toBe(401);
    const limited = await login(email, clientIp());
    expectProblem(limited, 429, 'rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
  });

  it('limits attempts per client IP, across accounts and across register and login', async () => {
    const ip = clientIp();
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const email = `spray${attempt}.${randomUUID()}@example.test`;
      const response =
        attempt % 2 === 0
          ? await login(email, ip)
          : await call('POST', `${stack.auth}/auth/register`, {
              body: { email, password: PASSWORD },
              headers: { 'x-forwarded-for': ip },
            });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([401, 201, 401, 201, 401]);
    expectProblem(await login(`another.${randomUUID()}@example.test`, ip), 429, 'rate_limited');
    // Another client is not affected.
    expect((await login(`another.${randomUUID()}@example.test`, clientIp())).status).toBe(401);
  });

  it('sends security headers on every answer', async () => {
    for (const url of [`${stack.auth}/health/live`, `${stack.users}/users/me`]) {
      const response = await call('GET', url);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    }
  });

  it('keeps CORS closed unless origins are configured, and then opens it to those only', async () => {
    const preflight = (url: string, origin: string) =>
      fetch(url, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
    const closed = await preflight(`${stack.orders}/orders`, 'https://app.example.test');
    expect(closed.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await preflight(`${stack.users}/users/me`, 'https://app.example.test');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.test');
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
    const foreign = await preflight(`${stack.users}/users/me`, 'https://evil.example');
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    const patch = await fetch(`${stack.users}/users/me`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.test', 'access-control-request-method': 'PATCH' },
    });
    expect(patch.headers.get('access-control-allow-methods')).toContain('PATCH');
    // An OPTIONS that is no preflight gets an empty 204, not a plain-text 400.
    const bare = await fetch(`${stack.users}/users/me`, { method: 'OPTIONS' });
    expect(bare.status).toBe(204);
    expect(await bare.text()).toBe('');
    // The answer itself lets the page read which replica served it (the console shows it) and the challenge.
    const answer = await fetch(`${stack.users}/users/me`, { headers: { origin: 'https://app.example.test' } });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('access-control-allow-origin')).toBe('https://app.example.test');
    expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
    expect((answer.headers.get('access-control-expose-headers') ?? '').split(/\s*,\s*/).sort()).toEqual(
      ['retry-after', 'www-authenticate', 'x-instance-id', 'x-request-id'],
    );
  });
});
