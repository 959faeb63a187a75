import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, startStack, type Stack } from './support/stack';
import { call } from './support/http';
import { forgeKey, privateJwks } from './support/token-forge';

const PASSWORD = 'correct horse battery staple';
const kidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid as string;

describe('signing-key rotation while requests run', () => {
  let stack: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'jwtms-rotation-'));
  const keyFile = join(dir, 'signing-jwks.json');
  const initialKey = forgeKey('ES256', 'initial-key');

  beforeAll(async () => {
    writeFileSync(keyFile, privateJwks(initialKey), { mode: 0o600 });
    const verifier = { AUTH_JWKS_REFRESH_SECONDS: '1' };
    stack = await startStack('sqlite', {
      'auth-service': { SIGNING_JWKS_FILE: keyFile, SIGNING_KEY_LEAD_SECONDS: '2', SIGNING_KEYS_RELOAD_SECONDS: '1' },
      'users-service': verifier,
      'orders-service': verifier,
    });
  });

  afterAll(async () => {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('switches keys with zero failed requests for valid tokens, and old tokens keep working', async () => {
    const email = `rotation.${Date.now().toString(36)}@example.test`;
    await call('POST', `${stack.auth}/auth/register`, { body: { email, password: PASSWORD } });
    let tokens = (await call('POST', `${stack.auth}/auth/login`, { body: { email, password: PASSWORD } })).body;
    const oldToken: string = tokens.access_token;
    expect(kidOf(oldToken)).toBe('initial-key');
    const admin = (await call('POST', `${stack.auth}/auth/login`, { body: ADMIN })).body.access_token;

    const statuses: number[] = [];
    const kids = new Set<string>();
    let rotated: { kid: string } | undefined;
    const started = Date.now();
    while (Date.now() - started < 6000) {
      if (!rotated && Date.now() - started > 1000) {
        const response = await call('POST', `${stack.auth}/auth/admin/keys/rotate`, { token: admin });
        expect(response.status).toBe(200);
        rotated = response.body;
        // Published at once, before it signs anything.
        const jwks = await call('GET', `${stack.auth}/.well-known/jwks.json`);
        expect(jwks.body.keys.map((key: { kid: string }) => key.kid).sort()).toEqual(
          ['initial-key', response.body.kid].sort(),
        );
      }
      tokens = (await call('POST', `${stack.auth}/auth/refresh`, { body: { refresh_token: tokens.refresh_token } }))
        .body;
      kids.add(kidOf(tokens.access_token));
      for (const url of [`${stack.users}/users/me`, `${stack.orders}/orders`]) {
        statuses.push((await call('GET', url, { token: tokens.access_token })).status);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(rotated).toBeDefined();
    expect([...kids]).toEqual(['initial-key', rotated?.kid]);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect(statuses.length).toBeGreaterThan(20);
    // A token signed by the retiring key before the switch still verifies everywhere.
    expect((await call('GET', `${stack.users}/users/me`, { token: oldToken })).status).toBe(200);
    expect((await call('GET', `${stack.orders}/orders`, { token: oldToken })).status).toBe(200);
    console.log(
      `key rotation: ${statuses.length} requests across the switch, ${statuses.filter((s) => s !== 200).length} failed`,
    );
  });
});
