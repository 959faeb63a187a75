import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '@jwt-ms/testing';
import { startStack, type Stack } from './support/stack';
import { call } from './support/http';

const run = promisify(execFile);
const PASSWORD = 'correct horse battery staple';

/**
 * `npm run report:users`, the machine client's job (client credentials, RFC
 * 6749 §4.4), against a stack with the development registry: the real script,
 * in its own process, as a CronJob would run it.
 */
describe('the reporting job: a service calling as itself', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack('sqlite');
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  }, 60_000);

  const report = (env: Record<string, string>) =>
    run(process.execPath, ['-r', '@swc-node/register', join(ROOT, 'tools/jobs/users-report.ts')], {
      cwd: ROOT,
      timeout: 60_000,
      env: {
        PATH: process.env['PATH'] ?? '',
        SWC_NODE_PROJECT: join(ROOT, 'tsconfig.base.json'),
        // The issuer's public URL (its metadata's token_endpoint) is not reachable here: name the endpoint.
        TOKEN_ENDPOINT: `${stack.auth}/oauth/token`,
        USERS_URL: stack.users,
        ...env,
      },
    });

  it('lists every profile with its own token and counts them', async () => {
    const stamp = Date.now().toString(36);
    for (const [index, displayName] of ['Ada', 'Grace', null].entries()) {
      const email = `report${index}.${stamp}@example.test`;
      expect((await call('POST', `${stack.auth}/auth/register`, { body: { email, password: PASSWORD } })).status).toBe(
        201,
      );
      const token = (await call('POST', `${stack.auth}/auth/login`, { body: { email, password: PASSWORD } })).body
        .access_token;
      expect((await call('GET', `${stack.users}/users/me`, { token })).status).toBe(200);
      if (displayName) await call('PATCH', `${stack.users}/users/me`, { token, body: { displayName } });
    }
    const { stdout } = await report({});
    expect(JSON.parse(stdout)).toMatchObject({ profiles: 3, withDisplayName: 2, withoutDisplayName: 1 });
  }, 90_000);

  it("exits 1 with the issuer's error when its secret is wrong, and prints neither secret nor token", async () => {
    const failed = await report({ REPORT_CLIENT_SECRET: 'a-wrong-secret-for-this-test' }).then(
      () => null,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('answered 401 invalid_client');
    expect(`${failed?.stdout}${failed?.stderr}`).not.toContain('a-wrong-secret-for-this-test');
  }, 90_000);
});
