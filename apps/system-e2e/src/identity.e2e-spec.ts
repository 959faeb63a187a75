import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Databases, stopProcess } from '@jwt-ms/testing';
import {
  POSTGRES_ADMIN_URL,
  launch,
  serviceTestEnv,
  startStack,
  type RunningService,
  type Stack,
} from './support/stack';
import { afterRevocation, call, expectProblem } from './support/http';

/** The claims of a token, read without verifying. */
const claimsOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));

const PASSWORD = 'correct horse battery staple';

/**
 * Account identity: who may hold the admin account, which spellings of an email
 * are one account, what a password must be, and whether every accepted value
 * fits the PostgreSQL columns.
 */
describe('ADMIN_EMAIL: an account someone else registered is taken over at start, never promoted', () => {
  const databases = new Databases(POSTGRES_ADMIN_URL);
  const database = `jwtms_test_admin_${process.pid}_${Date.now().toString(36)}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'jwtms-e2e-admin-'));
  const operator = { email: 'boss@example.test', password: 'the operator chose this long passphrase' };
  const attackerPassword = 'mallory chose this one herself';
  let auth: RunningService | undefined;
  let users: RunningService | undefined;

  /** The issuer's environment: the same database and key set at every start, ADMIN_* only when given. */
  const issuerEnv = (admin?: { email: string; password: string }): Record<string, string> =>
    serviceTestEnv({
      DATABASE_URL: databases.urlOf(database),
      DATA_DIR: join(dataDir, 'auth'),
      AUTH_RATE_LIMIT_PER_IP: '100000',
      AUTH_RATE_LIMIT_PER_ACCOUNT: '100000',
      AUTH_TOKEN_RATE_LIMIT_PER_IP: '100000',
      ...(admin ? { ADMIN_EMAIL: admin.email, ADMIN_PASSWORD: admin.password } : {}),
    });
  /** Stops the issuer and starts it again (the operator's restart), resolving once it listens. */
  const restartIssuer = async (admin?: { email: string; password: string }): Promise<RunningService> => {
    await stopProcess(auth?.process);
    auth = await launch('auth-service', issuerEnv(admin));
    return auth;
  };
  const login = (email: string, password: string) =>
    call('POST', `${auth?.url}/auth/login`, { body: { email, password } });

  beforeAll(async () => {
    await databases.recreate(database);
    auth = await launch('auth-service', issuerEnv());
    users = await launch(
      'users-service',
      serviceTestEnv({
        // The key set lives in DATA_DIR and survives the issuer's restarts: users never needs to refetch it.
        AUTH_JWKS_URI: `${auth.url}/.well-known/jwks.json`,
        SQLITE_PATH: join(dataDir, 'users.sqlite'),
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all([stopProcess(auth?.process), stopProcess(users?.process)]);
    await databases.drop(database);
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('registered in advance, or again after the admin deleted it: the attacker loses it, with every session', async () => {
    for (const round of ['registered before ADMIN_EMAIL was configured', 'deleted by the admin, registered again']) {
      // The attacker registers the address the operator will configure, in another spelling, and logs in.
      const registered = await call('POST', `${auth?.url}/auth/register`, {
        body: { email: 'Boss@Example.test', password: attackerPassword },
      });
      expect({ round, status: registered.status }).toEqual({ round, status: 201 });
      const before = await login('boss@example.test', attackerPassword);
      expect(before.status).toBe(200);
      expect(claimsOf(before.body.access_token)).toMatchObject({ sub: registered.body.id, roles: ['user'] });
      expect((await call('GET', `${users?.url}/whoami`, { token: before.body.access_token })).status).toBe(200);

      const issuer = await restartIssuer(operator);

      expectProblem(await login('boss@example.test', attackerPassword), 401, 'invalid_credentials');
      const admin = await login('BOSS@example.test', operator.password);
      expect(admin.status).toBe(200);
      expect(claimsOf(admin.body.access_token)).toMatchObject({ sub: registered.body.id, roles: ['user', 'admin'] });
      // The attacker's access token is refused by the issuer and by the resource services; the refresh token is dead.
      expectProblem(
        await call('POST', `${issuer.url}/auth/logout`, { token: before.body.access_token }),
        401,
        'invalid_token',
      );
      const atUsers = await afterRevocation('GET', `${users?.url}/whoami`, { token: before.body.access_token });
      expectProblem(atUsers, 401, 'invalid_token');
      expect(atUsers.body.detail).toContain('all tokens of the subject revoked');
      expectProblem(
        await call('POST', `${issuer.url}/auth/refresh`, { body: { refresh_token: before.body.refresh_token } }),
        400,
        'invalid_grant',
      );
      expect((await call('GET', `${users?.url}/whoami`, { token: admin.body.access_token })).status).toBe(200);
      // Said loudly, without either password.
      const log = issuer.output.join('');
      // A warning (pino level 40) of its own, naming the account.
      expect(log).toMatch(
        new RegExp(`"level":40,[^\\n]*account ${registered.body.id} [^\\n]*TAKEN OVER[^\\n]*revoked`),
      );
      expect(log).not.toContain(operator.password);
      expect(log).not.toContain(attackerPassword);

      // The variant: the admin deletes the account; the address is free to register again while the issuer runs.
      if (round.startsWith('registered before')) {
        const deleted = await call('DELETE', `${issuer.url}/auth/admin/users/${registered.body.id}`, {
          token: admin.body.access_token,
        });
        expect(deleted.status).toBe(204);
      }
    }
  });

  it('an account that already is the configured admin is left alone at the next start, sessions included', async () => {
    const admin = await login(operator.email, operator.password);
    expect(admin.status).toBe(200);
    const issuer = await restartIssuer(operator);
    expect(issuer.output.join('')).not.toMatch(/TAKEN OVER|created the admin account/);
    expect((await call('GET', `${users?.url}/whoami`, { token: admin.body.access_token })).status).toBe(200);
    expect(
      (await call('POST', `${issuer.url}/auth/refresh`, { body: { refresh_token: admin.body.refresh_token } })).status,
    ).toBe(200);
  });
});

describe('account identity and stored values (PostgreSQL)', () => {
  let stack: Stack;
  const run = Date.now().toString(36);

  beforeAll(async () => {
    stack = await startStack('postgres');
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  }, 60_000);

  const register = (email: string, password = PASSWORD) =>
    call('POST', `${stack.auth}/auth/register`, { body: { email, password } });
  const login = (email: string, password = PASSWORD) =>
    call('POST', `${stack.auth}/auth/login`, { body: { email, password } });

  it('look-alikes of an address register no second account: the same account (409) or refused (400)', async () => {
    const carol = `carol-x.${run}@example.test`;
    const original = await register(carol);
    expect(original.status).toBe(201);
    const rows: Array<[string, string, 409 | 400]> = [
      ['a fullwidth ｃ (U+FF43)', `\uff43arol-x.${run}@example.test`, 409],
      ['a zero-width space inside', `car\u200bol-x.${run}@example.test`, 400],
      ['a soft hyphen inside', `car\u00adol-x.${run}@example.test`, 400],
      ['a variation selector inside', `car\ufe0fol-x.${run}@example.test`, 400],
      ['a right-to-left override prefix', `\u202ecarol-x.${run}@example.test`, 400],
      ['a Cyrillic с', `\u0441arol-x.${run}@example.test`, 400],
      ['a Cyrillic а in the domain', `carol-x.${run}@ex\u0430mple.test`, 400],
      ['the quoted local part (RFC 5321: the same mailbox)', `"carol-x.${run}"@example.test`, 409],
      ['capitals', `Carol-X.${run}@Example.TEST`, 409],
    ];
    for (const [name, email, status] of rows) {
      const response = await register(email);
      expect({ name, status: response.status }).toEqual({ name, status });
      if (status === 409) expectProblem(response, 409, 'email_taken');
      else {
        expectProblem(response, 400, 'validation_failed');
        expect(response.body.errors).toEqual([
          { field: 'email', message: expect.stringMatching(/^email must be an email address: .+/) },
        ]);
      }
    }
    // Login maps the same way: the spellings that are the same mailbox reach the same account.
    for (const email of [`\uff43arol-x.${run}@example.test`, `"carol-x.${run}"@EXAMPLE.test`]) {
      const session = await login(email);
      expect(session.status).toBe(200);
      expect(claimsOf(session.body.access_token)).toMatchObject({ sub: original.body.id, email: carol });
    }
    expectProblem(await login(`\u0441arol-x.${run}@example.test`), 401, 'invalid_credentials');
    // Internationalised domains are stored as A-labels, whichever way they are typed.
    const idn = await register(`user.${run}@b\u00fccher.example`);
    expect(idn.body).toMatchObject({ email: `user.${run}@xn--bcher-kva.example` });
    expectProblem(await register(`USER.${run}@BU\u0308CHER.example`), 409, 'email_taken');
  });

  it('common, blank and invisible passwords are refused with a clear 400; NFC and NFD are one password', async () => {
    const rows: Array<[string, RegExp]> = [
      ['password', /most common or breached/],
      ['12345678', /most common or breached/],
      [' '.repeat(8), /visible characters/],
      ['\u200b'.repeat(8), /visible characters/],
      ['short', /at least 8 characters/],
      [`u1.${run}@example.test`, /email address/],
    ];
    for (const [password, message] of rows) {
      const response = await register(`u1.${run}@example.test`, password);
      expectProblem(response, 400, 'validation_failed');
      expect(response.body.errors).toEqual([{ field: 'password', message: expect.stringMatching(message) }]);
    }
    const nfc = 'cr\u00e8me br\u00fbl\u00e9e \u00e0 la carte';
    expect((await register(`u1.${run}@example.test`, nfc)).status).toBe(201);
    const session = await login(`u1.${run}@example.test`, nfc.normalize('NFD'));
    expect(session.status).toBe(200);
    const change = (new_password: string) =>
      call('POST', `${stack.auth}/auth/password`, {
        token: session.body.access_token,
        body: { current_password: nfc, new_password },
      });
    for (const [password, message] of rows.slice(0, 4).concat([[`U1.${run}`, /email address/]])) {
      const response = await change(password);
      expectProblem(response, 400, 'validation_failed');
      expect(response.body.errors).toEqual([{ field: 'new_password', message: expect.stringMatching(message) }]);
    }
    expect((await change('a different long passphrase')).status).toBe(204);
  });

  it("each DTO's longest accepted value, counted as PostgreSQL counts (code points), is stored: never a 500", async () => {
    // Email: 64 octets before @, 254 in all (RFC 5321 §4.5.3.1), into accounts.email and profiles.email varchar(254).
    const longest = `${run}${'a'.repeat(64 - run.length)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(56)}.test`;
    expect(longest).toHaveLength(254);
    expect((await register(longest)).status).toBe(201);
    const session = await login(longest);
    expect(session.status).toBe(200);
    const token = session.body.access_token;
    const me = await call('GET', `${stack.users}/users/me`, { token });
    expect({ status: me.status, email: me.body.email }).toEqual({ status: 200, email: longest });
    // displayName varchar(100): 100 code points of any kind, never 101.
    const patch = (displayName: string) => call('PATCH', `${stack.users}/users/me`, { token, body: { displayName } });
    for (const displayName of [
      'a'.repeat(100),
      '\u{1F600}'.repeat(100),
      'a\ufe0f'.repeat(50),
      'e\u0301'.repeat(50),
      '\u{1F468}\u200d\u{1F469}\u200d\u{1F467}'.repeat(20),
    ]) {
      const response = await patch(displayName);
      expect({ status: response.status, codePoints: [...displayName].length }).toEqual({
        status: 200,
        codePoints: 100,
      });
      expect(response.body.displayName).toBe(displayName);
    }
    for (const displayName of ['a\ufe0f'.repeat(100), '\u{1F600}'.repeat(101), 'a'.repeat(101), '']) {
      const response = await patch(displayName);
      expectProblem(response, 400, 'validation_failed');
      expect(response.body.errors).toEqual([
        { field: 'displayName', message: 'displayName must be 1 to 100 characters' },
      ]);
    }

    // A Unicode domain short enough as typed whose A-labels are not: refused before the database sees it.
    const unicodeDomain = `a.${run}@${Array.from({ length: 4 }, () => `\u00fc${'a'.repeat(54)}`).join('.')}.de`;
    expectProblem(await register(unicodeDomain), 400, 'validation_failed');
    // Password: 128 code points of four UTF-8 bytes each.
    const astral = '\u{1F511}'.repeat(128);
    expect((await register(`keys.${run}@example.test`, astral)).status).toBe(201);
    expect((await login(`keys.${run}@example.test`, astral)).status).toBe(200);
    expectProblem(await register(`keys2.${run}@example.test`, `${astral}x`), 400, 'validation_failed');

    // Orders: the most items, each with the longest sku (varchar(64), ASCII by its pattern).
    const items = Array.from({ length: 20 }, (_, index) => ({
      sku: `${String(index).padStart(2, '0')}${'S'.repeat(62)}`,
      quantity: 100,
      unitPriceCents: 1_000_000,
    }));
    const order = await call('POST', `${stack.orders}/orders`, { token, body: { items } });
    expect({ status: order.status, total: order.body.totalCents }).toEqual({ status: 201, total: 2_000_000_000 });
  });

  it('free text refuses control characters, line breaks, ANSI escapes and bidirectional controls', async () => {
    expect((await register(`text.${run}@example.test`)).status).toBe(201);
    const token = (await login(`text.${run}@example.test`)).body.access_token;
    for (const displayName of [
      'Ada\r\nX-Admin: yes',
      'Ada\nLovelace',
      'Ada\tLovelace',
      '\u001b[2J\u001b[31mAda',
      '\u009b31mAda',
      'Ada\u007f',
      'Ada\u2028Lovelace',
      '\u202eecalevoL adA',
      'Ada\u2066Lovelace\u2069',
      'Ada\u200f',
    ]) {
      const response = await call('PATCH', `${stack.users}/users/me`, { token, body: { displayName } });
      expectProblem(response, 400, 'validation_failed');
      expect(response.body.errors).toEqual([
        { field: 'displayName', message: expect.stringMatching(/must not contain control characters/) },
      ]);
    }
    // NUL and lone surrogates never reach validation: the body parser refuses them for every field.
    for (const displayName of ['Ada\u0000', 'Ada\ud800'])
      expectProblem(
        await call('PATCH', `${stack.users}/users/me`, { token, body: { displayName } }),
        400,
        'invalid_request',
      );
    const fine = await call('PATCH', `${stack.users}/users/me`, {
      token,
      body: { displayName: 'Ada Lovelace \u{1F469}\u200d\u{1F4BB} \u05e2\u05d1\u05e8\u05d9\u05ea' },
    });
    expect(fine.status).toBe(200);
  });
});
