import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startCluster, type Cluster } from '@jwt-ms/tools/cluster';
import { POSTGRES_ADMIN_URL, REDIS_URL } from './support/stack';
import { SCREENSHOT_DIR, launchChromium, screenshot } from './support/chromium';

const ADMIN = { email: 'admin@console.e2e.test', password: 'console-e2e-admin-password-not-secret' };
const USER = { email: `ann.${process.pid}@console.e2e.test`, password: 'correct horse battery staple' };
/** The issuer's lead before a new key signs, in seconds: short, so that the journey sees the kid change. */
const KEY_LEAD_SECONDS = 2;
/** A compact JWS anywhere in a text: the page must never show one. */
const COMPACT_JWS = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/;
/** Generous for a loaded 2-core machine: each wait ends as soon as the page gets there. */
const STEP_MS = 30_000;

/**
 * The console in a real browser (Debian's Chromium, driven by playwright-core),
 * against the native cluster: 2 replicas of each service behind HAProxy, the
 * console at the ingress's `/`, the issuer on its own origin (so the page's
 * OAuth calls cross origins, under CORS). A newcomer's journey, step by step,
 * with a screenshot of each in dist/screenshots/console/.
 */
describe('the console, in Chromium, against a 2-replica cluster', () => {
  let cluster: Cluster;
  let dataDir: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Content Security Policy violations and page errors, over the whole journey: none allowed. */
  const violations: string[] = [];
  const figures: Record<string, unknown> = {};

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'jwtms-console-'));
    cluster = await startCluster({
      replicas: 2,
      dataDir,
      redisUrl: REDIS_URL,
      postgresAdminUrl: POSTGRES_ADMIN_URL,
      databasePrefix: `jwtms_test_console_${process.pid}`,
      freshDatabases: true,
      console: true,
      env: {
        NODE_ENV: 'test',
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        SIGNING_KEY_LEAD_SECONDS: String(KEY_LEAD_SECONDS),
        SIGNING_KEYS_RELOAD_SECONDS: '1',
        AUTH_RATE_LIMIT_PER_IP: '100000',
        AUTH_RATE_LIMIT_PER_ACCOUNT: '100000',
        AUTH_TOKEN_RATE_LIMIT_PER_IP: '100000',
      },
      serviceEnv: { 'orders-service': { USERS_SERVICE_TIMEOUT_MS: '15000', EXPLAIN_EXCHANGE: 'on' } },
    });
    browser = await launchChromium();
    context = await browser.newContext();
    page = await newPage(context);
  }, 180_000);

  afterAll(async () => {
    writeFileSync(join(SCREENSHOT_DIR, 'figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
    await browser?.close();
    await cluster?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  async function newPage(of: BrowserContext): Promise<Page> {
    const opened = await of.newPage();
    opened.setDefaultTimeout(STEP_MS);
    opened.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
    opened.on('pageerror', (error) => violations.push(`page error: ${error.message}`));
    return opened;
  }

  const consoleUrl = () => cluster.ingressUrl;

  /** Log in through the issuer's page: the console's button, the issuer's form, back to the console. */
  async function logIn(at: Page, who: { email: string; password: string }): Promise<void> {
    await at.getByRole('button', { name: 'Log in through the issuer' }).click();
    await at.waitForURL((url) => url.toString().startsWith(`${cluster.urls['auth-service']}/oauth/authorize`));
    await at.getByLabel('Email').fill(who.email);
    await at.getByLabel('Password').fill(who.password);
    await at.getByRole('button', { name: /log in|sign in/i }).click();
    await at.waitForURL(`${consoleUrl()}/`);
    await at.locator('#token:not([hidden])').waitFor();
  }

  it('logs in through the issuer’s page with PKCE, and leaves no code or token in the URL or in storage', async () => {
    await page.goto(`${consoleUrl()}/`);
    await page.locator('#config-summary', { hasText: 'Issuer' }).waitFor();
    await page.getByText('No account yet?').click();
    await page.getByLabel('Email').fill(USER.email);
    await page.getByLabel('Password (12 characters or more)').fill(USER.password);
    await page.getByRole('button', { name: 'Create the account' }).click();
    await page.locator('#register-result[data-status="201"]').waitFor();

    await page.getByRole('button', { name: 'Log in through the issuer' }).click();
    await page.waitForURL((url) => url.toString().startsWith(`${cluster.urls['auth-service']}/oauth/authorize`));
    const authorize = new URL(page.url());
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${consoleUrl()}/callback`);
    expect(authorize.searchParams.get('state')).toBeTruthy();
    figures['screenshot_issuer_login'] = await screenshot(page, '01-issuer-login');
    await page.getByLabel('Email').fill(USER.email);
    await page.getByLabel('Password').fill(USER.password);
    await page.getByRole('button', { name: /log in|sign in/i }).click();
    await page.waitForURL(`${consoleUrl()}/`);
    await page.locator('#token:not([hidden])').waitFor();

    expect(page.url()).toBe(`${consoleUrl()}/`); // the code left the address bar
    expect(await page.locator('#login-steps > li').count()).toBe(4);
    expect(await page.locator('#token-header tr[data-member="typ"] td').first().textContent()).toBe('"at+jwt"');
    expect(await page.locator('#token-claims tr[data-member="sid"]').count()).toBe(1);
    expect(Number(await page.locator('#token-countdown').textContent())).toBeGreaterThan(0);
    const storage = await page.evaluate(() => ({
      local: Object.keys(localStorage),
      session: Object.entries(sessionStorage),
    }));
    expect(storage).toEqual({ local: [], session: [] }); // the verifier and state are gone; the token was never there
    expect(await page.content()).not.toMatch(COMPACT_JWS);
    figures['screenshot_token'] = await screenshot(page, '02-token-decoded');
  });

  it('calls users and orders with the token, each answer naming its replica', async () => {
    await page.getByRole('button', { name: 'GET /users/me' }).click();
    await page.getByRole('button', { name: 'GET /orders' }).click();
    const users = page.locator('#call-log li[data-status="200"][data-instance^="users-"]');
    const orders = page.locator('#call-log li[data-status="200"][data-instance^="orders-"]');
    await users.first().waitFor();
    await orders.first().waitFor();
    expect(await users.first().textContent()).toContain(USER.email);
  });

  it('places an order: the exchanged token beside the original, act highlighted, never the token itself', async () => {
    await page.getByRole('button', { name: 'POST /orders (with the downstream call)' }).click();
    await page.locator('#call-log li[data-status="201"]').waitFor();
    await page.locator('#exchange:not([hidden])').waitFor();
    const act = page.locator('#exchange-delegated tr[data-member="act"]');
    expect(await act.getAttribute('class')).toBe('highlight');
    expect(await act.locator('td').first().textContent()).toMatch(/^\{"sub":"[^"]+"\}$/);
    expect(await page.locator('#exchange-original tr[data-member="act"]').count()).toBe(0);
    expect(await page.locator('#exchange-delegated tr[data-member="aud"] td').first().textContent()).toContain(
      'users-service',
    );
    expect(await page.content()).not.toMatch(COMPACT_JWS);
    figures['screenshot_exchange'] = await screenshot(page, '03-order-and-exchange');
  });

  it('logs out and watches every replica of both services refuse the token, each with its measured delay', async () => {
    await page.getByRole('button', { name: 'Log out (this session)' }).click();
    await page.locator('#revocation-note[data-done]').waitFor({ timeout: 60_000 });
    expect(await page.locator('#revocation-note').getAttribute('data-done')).toBe('complete');
    const rows = page.locator('#replica-table tbody tr');
    expect(await rows.count()).toBe(4); // 2 users + 2 orders replicas, each found by the page itself
    const seen = await rows.evaluateAll((trs) =>
      trs.map((tr) => ({
        service: tr.getAttribute('data-service'),
        instance: tr.getAttribute('data-instance'),
        refused: tr.getAttribute('data-refused'),
        delayMs: tr.getAttribute('data-delay-ms'),
      })),
    );
    const running = [...cluster.running('users-service'), ...cluster.running('orders-service')].map((r) => r.id);
    expect(seen.map((row) => row.instance).sort()).toEqual(running.sort());
    for (const row of seen) {
      expect(row.refused).toBe('yes');
      expect(Number(row.delayMs)).toBeGreaterThanOrEqual(0);
      expect(Number(row.delayMs)).toBeLessThan(10_000);
    }
    figures['revocation'] = seen;
    // The charts, from a replica's /metrics read by the console's server: the refusals just seen are counted.
    for (const service of ['users', 'orders']) {
      const chart = page.locator(`#charts-body .chart[data-service="${service}"]`);
      await chart.locator('.bar[data-result="rejected"]').first().waitFor();
      expect(await chart.locator('.bar[data-result="accepted"]').count()).toBe(1);
      expect(await chart.textContent()).toMatch(/Revocations applied: [1-9]/);
    }
    figures['screenshot_revocation'] = await screenshot(page, '04-revoked-everywhere');
  });

  it('as admin, rotates the keys: old tokens still work, and new tokens carry the new kid', async () => {
    const admin = await newPage(await browser.newContext());
    await admin.goto(`${consoleUrl()}/`);
    await logIn(admin, ADMIN);
    await admin.locator('#admin:not([hidden])').waitFor();
    const oldKid = JSON.parse(
      (await admin.locator('#token-header tr[data-member="kid"] td').first().textContent()) ?? '',
    );
    await admin.getByRole('button', { name: 'Rotate the keys' }).click();
    const rotated = admin.locator('#admin-log li[data-new-kid]');
    await rotated.waitFor();
    const newKid = await rotated.getAttribute('data-new-kid');
    expect(newKid).not.toBe(oldKid);
    const oldTokenChecks = admin.locator('#admin-log li[data-old-token]');
    await oldTokenChecks.nth(1).waitFor();
    // The old key's token, at users and at orders, after the rotation: both accept it.
    expect(
      await oldTokenChecks.evaluateAll((items) => items.map((item) => item.getAttribute('data-old-token'))),
    ).toEqual(['200', '200']);
    // The other auth replica publishes the new key once it has read the key set file again (every
    // SIGNING_KEYS_RELOAD_SECONDS): ask until both replicas have answered with both keys.
    const publishing = new Set<string>();
    const deadline = Date.now() + STEP_MS;
    for (let ask = 0; publishing.size < 2; ask += 1) {
      expect(Date.now()).toBeLessThan(deadline);
      await admin.getByRole('button', { name: 'Show the published keys' }).click();
      const answer = admin.locator('#admin-log li[data-jwks]').nth(ask);
      await answer.waitFor();
      if (Number(await answer.getAttribute('data-jwks')) >= 2)
        publishing.add((await answer.getAttribute('data-instance')) ?? '');
    }
    figures['screenshot_rotation'] = await screenshot(admin, '05-keys-rotated');

    // Once the lead has passed (by the page's own clock: signsFrom), a new login is signed by the new key.
    const signsFrom = await admin.evaluate(() =>
      Date.parse(document.querySelector('#admin-log li[data-signs-from]')?.getAttribute('data-signs-from') ?? ''),
    );
    await admin.waitForFunction((at) => Date.now() > at + 500, signsFrom, { timeout: (KEY_LEAD_SECONDS + 20) * 1000 });
    await admin.getByRole('button', { name: 'Get a new token (the issuer remembers you)' }).click();
    await admin.locator('#admin-log li[data-kid-change]').waitFor();
    expect(await admin.locator('#admin-log li[data-kid-change]').getAttribute('data-kid-change')).toBe('changed');
    expect(await admin.locator('#login-steps > li').count()).toBe(4); // through the issuer again, without its form
    expect(
      JSON.parse((await admin.locator('#token-header tr[data-member="kid"] td').first().textContent()) ?? ''),
    ).toBe(newKid);
    figures['kids'] = { before: oldKid, after: newKid };
    figures['screenshot_new_kid'] = await screenshot(admin, '06-new-kid');
  }, 90_000);

  it('ran under its Content Security Policy with no violation and no page error', () => {
    expect(violations).toEqual([]);
  });
});
