import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { parse } from 'yaml';
import { PrivateRedis, ROOT } from '@jwt-ms/testing';
import { REVOCATION_INDEX_KEY, revocationChannel, revokedJtiKey } from '@jwt-ms/contracts';

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
    expect(await attempt(() => anonymous.get(revokedJtiKey('x')))).toBe('NOPERM');
  });

  it('lets the issuer write its own keys and run the revocation script, and nothing dangerous', async () => {
    const auth = await connect('auth');
    expect(await attempt(() => auth.set(revokedJtiKey('a'), '1', { EX: 60 }))).toBe('allowed');
    expect(
      await attempt(() =>
        auth.eval("redis.call('ZADD', KEYS[1], 1, 'x'); return redis.call('PUBLISH', ARGV[1], 'hello')", {
          keys: [REVOCATION_INDEX_KEY],
          arguments: [revocationChannel()],
        }),
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
      ['MOVE', revokedJtiKey('a'), '3'],
      ['SWAPDB', '0', '1'],
      ['MEMORY', 'PURGE'],
      ['SHUTDOWN', 'NOSAVE'],
    ])
      expect({ command, result: await attempt(() => auth.sendCommand(command)) }).toEqual({
        command,
        result: 'NOPERM',
      });
  });

  it('lets a resource service read the revocation list and hear announcements, but change nothing', async () => {
    const auth = await connect('auth');
    await auth.set(revokedJtiKey('b'), '1', { EX: 60 });
    const verifier = await connect('verifier');
    expect(await verifier.get(revokedJtiKey('b'))).toBe('1');
    expect(await verifier.mGet([revokedJtiKey('b'), revokedJtiKey('none')])).toEqual(['1', null]);
    expect(await verifier.pTTL(revokedJtiKey('b'))).toBeGreaterThan(0);
    expect(await attempt(() => verifier.zRange(REVOCATION_INDEX_KEY, 0, '+inf', { BY: 'SCORE' }))).toBe('allowed');

    const subscriber = verifier.duplicate();
    clients.push(subscriber);
    await subscriber.connect();
    const heard = new Promise<string>((resolve) => void subscriber.subscribe(revocationChannel(), resolve));
    await sleep(50);
    await auth.publish(revocationChannel(), 'announcement');
    await expect(heard).resolves.toBe('announcement');

    for (const command of [
      ['SET', revokedJtiKey('b'), '0'],
      ['DEL', revokedJtiKey('b')],
      ['EXPIRE', revokedJtiKey('b'), '1'],
      ['PUBLISH', revocationChannel(), 'forged'],
      ['EVAL', "return redis.call('DEL', KEYS[1])", '1', revokedJtiKey('b')],
      ['FLUSHALL'],
      ['CONFIG', 'GET', '*'],
      ['GET', 'someone-else:key'],
    ])
      expect({ command, result: await attempt(() => verifier.sendCommand(command)) }).toEqual({
        command,
        result: 'NOPERM',
      });
    expect(await verifier.get(revokedJtiKey('b'))).toBe('1');
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
