import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConsoleConfigError, contentSecurityPolicy, loadConsoleConfig } from './console-config';
import { buildConsoleServer } from './console-server';

describe('console configuration', () => {
  it('defaults to 127.0.0.1:3003, client `console`, and the page’s own origin for every API', () => {
    expect(loadConsoleConfig({ CONSOLE_ISSUER: 'http://localhost:3000/' })).toEqual({
      host: '127.0.0.1',
      port: 3003,
      browser: { issuer: 'http://localhost:3000', clientId: 'console', authUrl: '', usersUrl: '', ordersUrl: '' },
      metricsTargets: {},
    });
  });

  it('reads the metrics targets as name=URL pairs, and refuses anything else', () => {
    expect(
      loadConsoleConfig({
        CONSOLE_ISSUER: 'http://localhost:3000',
        CONSOLE_METRICS_TARGETS: 'users=http://users:3000/, orders=http://orders:3000',
      }).metricsTargets,
    ).toEqual({ users: 'http://users:3000', orders: 'http://orders:3000' });
    for (const bad of ['users', 'users=file:///etc/passwd', 'Users!=http://x', '=http://x'])
      expect(() => loadConsoleConfig({ CONSOLE_ISSUER: 'http://x', CONSOLE_METRICS_TARGETS: bad })).toThrow(
        /CONSOLE_METRICS_TARGETS: expected name=http/,
      );
  });

  it('names every bad variable, and requires the issuer', () => {
    expect.assertions(7);
    try {
      loadConsoleConfig({
        CONSOLE_USERS_URL: 'javascript:alert(1)',
        PORT: '70000',
        CONSOLE_ORDERS_URL: 'http://u:p@x/',
        CONSOLE_AUTH_URL: 'not a url',
      });
    } catch (error) {
      expect(error).toBeInstanceOf(ConsoleConfigError);
      const problems = (error as ConsoleConfigError).problems;
      for (const name of ['CONSOLE_ISSUER', 'CONSOLE_USERS_URL', 'PORT', 'CONSOLE_ORDERS_URL', 'CONSOLE_AUTH_URL'])
        expect(problems.some((problem) => problem.startsWith(`${name}: `))).toBe(true);
      expect((error as Error).message).not.toMatch(/Invalid URL/);
    }
  });

  it('allows scripts and styles only from itself, and fetches only to the configured origins', () => {
    const policy = contentSecurityPolicy({
      issuer: 'http://localhost:3000',
      clientId: 'console',
      authUrl: 'http://localhost:3000',
      usersUrl: 'http://localhost:3001',
      ordersUrl: '',
    });
    expect(policy).toContain("script-src 'self';");
    expect(policy).toContain("style-src 'self';");
    expect(policy).toContain("connect-src 'self' http://localhost:3000 http://localhost:3001;");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toContain("default-src 'none'");
    expect(policy).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  });
});

describe('console server', () => {
  let webRoot: string;
  let app: FastifyInstance;
  const browser = {
    issuer: 'https://issuer.example',
    clientId: 'console',
    authUrl: '',
    usersUrl: 'https://users.example',
    ordersUrl: '',
  };

  beforeAll(async () => {
    webRoot = mkdtempSync(join(tmpdir(), 'console-web-'));
    mkdirSync(join(webRoot, 'assets'));
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(webRoot, 'assets', 'index-abc123.js'), 'console.log(1)');
    app = await buildConsoleServer(browser, webRoot);
  });

  afterAll(async () => {
    await app.close();
    rmSync(webRoot, { recursive: true, force: true });
  });

  it('answers the page at / and /callback, never cached, with the CSP and no referrer', async () => {
    for (const url of ['/', '/callback?code=abc&state=xyz&iss=https%3A%2F%2Fissuer.example']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['content-security-policy']).toBe(contentSecurityPolicy(browser));
      expect(response.headers['referrer-policy']).toBe('no-referrer');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('serves the built files with a long cache, and its configuration never cached', async () => {
    const asset = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toMatch(/max-age=31536000.*immutable/);
    const config = await app.inject({ method: 'GET', url: '/console-config.json' });
    expect(config.json()).toEqual(browser);
    expect(config.headers['cache-control']).toBe('no-store');
  });

  it('answers anything else, a path escape included, with a 404 problem', async () => {
    for (const url of ['/nope', '/assets/../index.html.bak', '/assets/%2e%2e/%2e%2e/package.json', '/.env']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(404);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toMatchObject({ status: 404, code: 'not_found' });
    }
    const post = await app.inject({ method: 'POST', url: '/', payload: 'x' });
    expect(post.statusCode).toBe(404);
  });

  it('answers a URL it cannot decode with a problem and its headers, never echoing the URL', async () => {
    const response = await app.inject({ method: 'GET', url: '/callback%ff?code=secret-code-value' });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers['content-security-policy']).toBe(contentSecurityPolicy(browser));
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).not.toContain('secret-code-value');
    expect(response.json()).toMatchObject({ status: 400, code: 'bad_request', title: 'Bad Request' });
  });

  it('answers a folder or an escape under /assets/ with a 404, not a mislabelled 403', async () => {
    for (const url of ['/assets/', '/assets/../../package.json']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({ status: 404, title: 'Not Found', code: 'not_found' });
    }
  });

  it('reads the verifiers once a second however many ask', async () => {
    let reads = 0;
    const metrics = createServer((_request, response) => {
      reads += 1;
      response.end('jwt_verifications_total{result="accepted",reason=""} 1\n');
    });
    await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.1', resolve));
    const counted = await buildConsoleServer(browser, webRoot, {
      users: `http://127.0.0.1:${(metrics.address() as AddressInfo).port}`,
    });
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => counted.inject({ method: 'GET', url: '/verifier-metrics.json' })),
      );
      for (const answer of answers) expect(answer.json().targets[0]).toMatchObject({ service: 'users' });
      expect(reads).toBe(1);
    } finally {
      await counted.close();
      await new Promise<void>((resolve) => metrics.close(() => resolve()));
    }
  });

  it('is ready when it serves', async () => {
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).json()).toEqual({ status: 'ok' });
  });

  it('refuses to start without a built page', async () => {
    await expect(buildConsoleServer(browser, join(webRoot, 'missing'))).rejects.toThrow(/build the console first/);
  });
});
