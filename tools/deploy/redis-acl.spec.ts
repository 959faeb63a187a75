import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { parse } from 'yaml';
import { PrivateRedis, ROOT } from '@jwt-ms/testing';
import { REVOCATION_ENTRIES_KEY, REVOCATION_GENERATION_KEY, REVOCATION_LOG_KEY } from '@jwt-ms/contracts';

/**
 * The Redis users of compose and the cluster (scripts/redis-acl.sh), enforced
 * by a real redis-server started with the generated ACL file: the issuer
 * writes its own keys, a resource service only reads and subscribes, and
 * nobody may flush or reconfigure the server.
 */
const PASSWORDS = { auth: 'test-only-auth-password', verifier: 'test-only-verifier-password' };

function aclFile(passwords: { auth: string; verifier: string }): string {
  return execFileSync(join(ROOT, 'scripts/redis-acl.sh'), {
    encoding: 'utf8',
    env: { ...process.env, REDIS_AUTH_PASSWORD: passwords.auth, REDIS_VERIFIER_PASSWORD: passwords.verifier },
  });
}

/** The NOPERM error of a refused command, or 'allowed'. */
async function attempt(command: () => Promise<unknown>): Promise<string> {
  try {
    await command();
    return 'allowed';
  } catch (error) {
    return (error as Error).message.split(' ')[0];
  }
}

describe('scripts/redis-acl.sh on a real redis-server', () => {
  let server: PrivateRedis;
  let dir: string;
  const clients: { isOpen: boolean; quit(): Promise<unknown> }[] = [];
  const connect = async (user?: 'auth' | 'verifier') => {
    const credentials = user ? `${user}:${PASSWORDS[user]}@` : '';
    const client = createClient({
      url: `redis://${credentials}127.0.0.1:${server.port}`,
      socket: { reconnectStrategy: false },
    });
    clients.push(client);
    await client.connect();
    return client;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'redis-acl-'));
    writeFileSync(join(dir, 'users.acl'), aclFile(PASSWORDS));
    server = new PrivateRedis(['--dir', dir, '--aclfile', join(dir, 'users.acl')]);
    await server.start();
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.isOpen && client.quit().catch(() => undefined)));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets anyone PING (the health checks) and nothing else without a password', async () => {
    const anonymous = await connect();
    expect(await anonymous.ping()).toBe('PONG');
    expect(await attempt(() => anonymous.get(REVOCATION_GENERATION_KEY))).toBe('NOPERM');
  });

  it('lets the issuer write its own keys and run the revocation script, and nothing dangerous', async () => {
    const auth = await connect('auth');
    expect(await attempt(() => auth.hSet(REVOCATION_ENTRIES_KEY, 'jti:a', '1'))).toBe('allowed');
    expect(
      await attempt(() =>
        auth.eval(
          "redis.call('HSET', KEYS[1], 'jti:x', '1'); return redis.call('XADD', KEYS[2], '*', 'field', 'jti:x')",
          {
            keys: [REVOCATION_ENTRIES_KEY, REVOCATION_LOG_KEY],
            arguments: [],
          },
        ),
      ),
    ).toBe('allowed');
    expect(await attempt(() => auth.set('someone-else:key', '1'))).toBe('NOPERM');
    for (const command of [
      ['FLUSHALL'],
      ['FLUSHDB'],
      ['KEYS', '*'],
      ['CONFIG', 'SET', 'appendonly', 'no'],
      ['FUNCTION', 'FLUSH'],
      ['SCRIPT', 'FLUSH'],
      ['MOVE', REVOCATION_ENTRIES_KEY, '3'],
      ['SWAPDB', '0', '1'],
      ['MEMORY', 'PURGE'],
      ['SHUTDOWN', 'NOSAVE'],
    ])
      expect({ command, result: await attempt(() => auth.sendCommand(command)) }).toEqual({
        command,
        result: 'NOPERM',
      });
  });

  it('lets a resource service read the revocation list and tail its log, but change nothing', async () => {
    const auth = await connect('auth');
    await auth.hSet(REVOCATION_ENTRIES_KEY, 'jti:b', '1');
    const id = await auth.xAdd(REVOCATION_LOG_KEY, '*', { field: 'jti:b', value: '1' });
    await auth.set(REVOCATION_GENERATION_KEY, 'g');
    const verifier = await connect('verifier');
    expect(await verifier.get(REVOCATION_GENERATION_KEY)).toBe('g');
    expect((await verifier.hScan(REVOCATION_ENTRIES_KEY, '0')).entries).toContainEqual({ field: 'jti:b', value: '1' });
    expect(await attempt(() => verifier.xInfoStream(REVOCATION_LOG_KEY))).toBe('allowed');
    const tail = verifier.duplicate();
    clients.push(tail);
    await tail.connect();
    const read = tail.xRead({ key: REVOCATION_LOG_KEY, id }, { BLOCK: 10_000 });
    await sleep(50);
    await auth.xAdd(REVOCATION_LOG_KEY, '*', { field: 'jti:c', value: '1' });
    expect(JSON.stringify(await read)).toContain('jti:c');

    for (const command of [
      ['HSET', REVOCATION_ENTRIES_KEY, 'jti:b', '0'],
      ['HDEL', REVOCATION_ENTRIES_KEY, 'jti:b'],
      ['DEL', REVOCATION_ENTRIES_KEY],
      ['XADD', REVOCATION_LOG_KEY, '*', 'field', 'jti:forged'],
      ['XTRIM', REVOCATION_LOG_KEY, 'MAXLEN', '0'],
      ['EXPIRE', REVOCATION_ENTRIES_KEY, '1'],
      ['SET', REVOCATION_GENERATION_KEY, 'forged'],
      ['EVAL', "return redis.call('DEL', KEYS[1])", '1', REVOCATION_ENTRIES_KEY],
      ['PUBLISH', 'jwtms:revocations', 'forged'],
      ['FLUSHALL'],
      ['CONFIG', 'GET', '*'],
      ['CLUSTER', 'RESET'],
      ['GET', 'someone-else:key'],
    ])
      expect({ command, result: await attempt(() => verifier.sendCommand(command)) }).toEqual({
        command,
        result: 'NOPERM',
      });
    expect(await auth.hGet(REVOCATION_ENTRIES_KEY, 'jti:b')).toBe('1');
  });

  it('is the ACL that compose mounts, for the passwords in compose.yaml', () => {
    const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as {
      services: Record<string, { environment: Record<string, string> }>;
    };
    const password = (service: string) => new URL(compose.services[service].environment['REDIS_URL']).password;
    const users = (service: string) => new URL(compose.services[service].environment['REDIS_URL']).username;
    expect([users('auth'), users('users'), users('orders')]).toEqual(['auth', 'verifier', 'verifier']);
    const expected = aclFile({ auth: password('auth'), verifier: password('users') });
    expect(readFileSync(join(ROOT, 'docker/redis-users.acl'), 'utf8')).toBe(expected);
  });
});
