import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { startStack, type Stack } from './support/stack';

/** The README's first command ends with `npm run demo`: it must pass against the real services. */
describe('npm run demo', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack('sqlite');
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('walks every step against the running system and exits 0', async () => {
    const script = resolve(__dirname, '../../../scripts/demo.mjs');
    const output: string[] = [];
    const code = await new Promise<number | null>((done) => {
      const child = spawn(process.execPath, [script], {
        env: {
          PATH: process.env['PATH'] ?? '',
          AUTH_URL: stack.auth,
          USERS_URL: stack.users,
          ORDERS_URL: stack.orders,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.on('exit', done);
    });
    const text = output.join('');
    expect({ code, tail: text.slice(-600) }).toMatchObject({ code: 0 });
    expect(text).toMatch(/demo passed: 10 steps/);
  });
});
