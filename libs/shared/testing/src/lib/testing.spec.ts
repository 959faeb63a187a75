import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'redis';
import { PrivateRedis } from './private-redis';
import { ROOT } from './service-processes';
import { waitUntil } from './wait-until';

describe('ROOT', () => {
  it('is the repository root, where the built services and scripts are found', () => {
    expect(existsSync(join(ROOT, 'nx.json'))).toBe(true);
    expect(existsSync(join(ROOT, 'scripts/issuer-only-env.json'))).toBe(true);
  });
});

describe('waitUntil', () => {
  it('resolves once the condition holds', async () => {
    let checks = 0;
    await waitUntil(() => ++checks === 3, 'the third check');
    expect(checks).toBe(3);
  });

  it('says what it waited for when it gives up', async () => {
    await expect(waitUntil(() => false, 'nothing', 50)).rejects.toThrow('timed out after 50 ms waiting for nothing');
  });
});

describe('PrivateRedis', () => {
  const redis = new PrivateRedis();
  afterAll(() => redis.stop(), 30_000);

  it('starts a redis-server of its own, and a restart keeps the port', async () => {
    await redis.start();
    const port = redis.port;
    const client = createClient({ url: redis.url, socket: { reconnectStrategy: false } });
    client.on('error', () => undefined);
    await client.connect();
    await client.set('private-redis-spec', 'kept only until a stop');
    await client.destroy();
    await redis.stop();
    await redis.start();
    expect(redis.port).toBe(port);
    const again = createClient({ url: redis.url, socket: { reconnectStrategy: false } });
    await again.connect();
    // Not persistent by default: a restarted server starts empty.
    expect(await again.get('private-redis-spec')).toBeNull();
    await again.destroy();
  }, 60_000);
});
