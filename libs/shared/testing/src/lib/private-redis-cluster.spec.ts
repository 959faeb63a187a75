import { existsSync, readdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, createCluster, ErrorReply } from 'redis';
import { PrivateRedisCluster } from './private-redis-cluster';
import { waitUntil } from './wait-until';

/** What Redis 7.0 replies to a command blocked on a master that turns into a replica. */
const UNBLOCKED = 'UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)';

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** CLUSTER NODES as one node answers it: each node's line by its client port. */
async function clusterNodes(port: number): Promise<Map<number, string>> {
  const admin = createClient({ url: `redis://127.0.0.1:${port}` });
  await admin.connect();
  try {
    const lines = String(await admin.sendCommand(['CLUSTER', 'NODES']))
      .trim()
      .split('\n');
    return new Map(lines.map((line) => [Number(/:(\d+)@/.exec(line)?.[1]), line]));
  } finally {
    admin.destroy();
  }
}

function clusterDirs(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith('private-redis-cluster-'));
}

describe('PrivateRedisCluster', () => {
  const cluster = new PrivateRedisCluster();
  const dirsBefore = clusterDirs();
  let client: ReturnType<typeof createCluster>;
  /** The 'error' events of every cluster client here: node-redis emits none through a manual failover. */
  const errorEvents: string[] = [];

  /**
   * Set before the clients are destroyed: node-redis can leave a node connection of a destroyed cluster client (one
   * replaced in a failover) reconnecting forever, which would keep Jest from exiting; the strategy then stops it.
   */
  let closing = false;

  beforeAll(async () => {
    await cluster.start();
    client = createCluster({
      rootNodes: cluster.rootNodes,
      defaults: { socket: { reconnectStrategy: (retries: number) => (closing ? false : Math.min(50 * retries, 500)) } },
    });
    client.on('error', (error: Error) => errorEvents.push(error.message));
    await client.connect();
  }, 120_000);

  afterAll(async () => {
    closing = true;
    if (client?.isOpen) client.destroy();
    await cluster.stop();
  }, 60_000);

  it('runs 3 masters and 3 replicas on distinct ports below the ephemeral range, all slots served', async () => {
    expect(cluster.nodes.filter((node) => node.role === 'master')).toHaveLength(3);
    expect(cluster.nodes.filter((node) => node.role === 'replica')).toHaveLength(3);
    const ports = cluster.nodes.flatMap((node) => [node.port, node.busPort]);
    expect(new Set(ports).size).toBe(12);
    for (const port of ports) expect(port).toBeLessThan(32_768);
    expect(cluster.rootNodes.map((node) => node.url).sort()).toEqual(
      cluster.nodes.map((node) => `redis://127.0.0.1:${node.port}`).sort(),
    );
    expect(client.isReady).toBe(true);
    // a, b and c hash to slots 15495, 3300 and 7365: one in each third, so one on each master.
    const owners = await Promise.all(['a', 'b', 'c'].map((key) => cluster.masterOf(key)));
    expect(new Set(owners).size).toBe(3);
  }, 60_000);

  it('serves SET and GET on keys of different slots through one cluster client', async () => {
    await Promise.all(['a', 'b', 'c'].map((key) => client.set(key, `value of ${key}`)));
    expect(await Promise.all(['a', 'b', 'c'].map((key) => client.get(key)))).toEqual([
      'value of a',
      'value of b',
      'value of c',
    ]);
  }, 60_000);

  it('runs a script on keys sharing a hash tag, and Redis refuses one on keys of two slots', async () => {
    const both = "return {redis.call('SET', KEYS[1], ARGV[1]), redis.call('SET', KEYS[2], ARGV[1])}";
    expect(await client.eval(both, { keys: ['{t}1', '{t}2'], arguments: ['tagged'] })).toEqual(['OK', 'OK']);
    expect(await client.get('{t}2')).toBe('tagged');

    // node-redis does not split or check the keys: it sends the script to the first key's master, which refuses it.
    const admin = createClient({ url: `redis://127.0.0.1:${await cluster.masterOf('a')}` });
    await admin.connect();
    try {
      const rejected = async () =>
        /rejected_calls=(\d+)/.exec(
          String(await admin.sendCommand(['INFO', 'commandstats'])).split('cmdstat_eval:')[1] ?? '',
        )?.[1] ?? '0';
      const before = Number(await rejected());
      const refused = client.eval("return redis.call('MGET', KEYS[1], KEYS[2])", { keys: ['a', 'b'] });
      await expect(refused).rejects.toThrow(new ErrorReply("CROSSSLOT Keys in request don't hash to the same slot"));
      await expect(refused).rejects.toBeInstanceOf(ErrorReply);
      expect(Number(await rejected())).toBe(before + 1);
    } finally {
      admin.destroy();
    }
  }, 60_000);

  it('serves HSCAN, XADD, XREAD and XINFO STREAM on a tagged key', async () => {
    await client.hSet('{t}h', { one: '1', two: '2' });
    const scanned = await client.hScan('{t}h', '0');
    expect(scanned.cursor).toBe('0');
    expect(scanned.entries).toEqual(
      expect.arrayContaining([
        { field: 'one', value: '1' },
        { field: 'two', value: '2' },
      ]),
    );

    const id = await client.xAdd('{t}s', '*', { n: 'first' });
    expect(await client.xRead({ key: '{t}s', id: '0' })).toEqual([
      { name: '{t}s', messages: [{ id, message: { n: 'first' } }] },
    ]);
    const info = await client.xInfoStream('{t}s');
    expect(info.length).toBe(1);
    expect(info['last-generated-id']).toBe(id);
    await expect(client.xInfoStream('{t}missing')).rejects.toThrow('ERR no such key');

    const node = await client.getNodeClientForKey('{t}s');
    expect(node.options?.socket).toMatchObject({ port: await cluster.masterOf('{t}s') });
  }, 60_000);

  it('holds up every command to a node while the cluster client itself blocks on it: block on a duplicate()', async () => {
    const admin = createClient({ url: `redis://127.0.0.1:${await cluster.masterOf('{t}s')}` });
    await admin.connect();
    try {
      const order: string[] = [];
      const blocked = client.xRead({ key: '{t}s', id: '$' }, { BLOCK: 2_000 }).finally(() => order.push('XREAD'));
      await waitUntil(
        async () => /blocked_clients:1\b/.test(String(await admin.sendCommand(['INFO', 'clients']))),
        'the XREAD to block on the {t} master',
        30_000,
      );
      // One connection a node: the GET queues behind the blocked XREAD until the server times that out.
      await client.get('{t}x').finally(() => order.push('GET'));
      expect(await blocked).toBeNull();
      expect(order).toEqual(['XREAD', 'GET']);
    } finally {
      admin.destroy();
    }
  }, 60_000);

  it('fails the {t} shard over: data written before stays readable, writes go on, a blocked XREAD is released', async () => {
    await client.set('{t}x', 'before the failover');
    const before = await cluster.masterOf('{t}x');
    const tail = client.duplicate();
    tail.on('error', (error: Error) => errorEvents.push(error.message));
    await tail.connect();
    try {
      const admin = createClient({ url: `redis://127.0.0.1:${before}` });
      await admin.connect();
      const startedAt = Date.now();
      let releasedAt = 0;
      const blocked = tail.xRead({ key: '{t}s', id: '$' }, { BLOCK: 0 }).finally(() => (releasedAt = Date.now()));
      blocked.catch(() => undefined);
      // Blocked on the server, not merely sent.
      await waitUntil(
        async () => /blocked_clients:1\b/.test(String(await admin.sendCommand(['INFO', 'clients']))),
        'the XREAD to block on the {t} master',
        30_000,
      );
      admin.destroy();

      const { from, to } = await cluster.failover('{t}x');
      const failedOverAt = Date.now();
      expect(from).toBe(before);
      expect(to).not.toBe(from);
      expect(cluster.nodes.find((node) => node.port === from)?.role).toBe('replica');
      expect(cluster.nodes.find((node) => node.port === to)?.role).toBe('master');
      // Every node, asked directly the moment failover() resolved, already has `to` as master and `from` its replica.
      const views = await Promise.all(cluster.nodes.map((node) => clusterNodes(node.port)));
      for (const view of views) {
        expect(view.get(to)).toMatch(/\bmaster\b/);
        expect(view.get(from)).toMatch(/\bslave\b/);
      }
      expect(await cluster.masterOf('{t}x')).toBe(to);

      // The old master answers the blocked read with an error as it turns into a replica: before the failover settles.
      await expect(blocked).rejects.toThrow(new ErrorReply(UNBLOCKED));
      expect(releasedAt).toBeLessThanOrEqual(failedOverAt);

      // The same cluster client reads what was written before (after MOVED, it refreshes its slot map) and writes.
      expect(await client.get('{t}x')).toBe('before the failover');
      expect(await client.get('{t}2')).toBe('tagged');
      await client.set('{t}x', 'after the failover');
      expect(await client.get('{t}x')).toBe('after the failover');
      const after = await client.xAdd('{t}s', '*', { n: 'after' });

      // A tailer that retries at once recovers. Its errors: the release, then the old master closing the
      // connection (node-redis reports 'Socket closed unexpectedly' or 'read ECONNRESET', whichever it sees first).
      // The retry after those meets MOVED, which node-redis follows to the new master.
      const errors: string[] = [];
      let read: Awaited<ReturnType<typeof tail.xRead>> = null;
      await waitUntil(
        async () => {
          try {
            read = await tail.xRead({ key: '{t}s', id: '0' }, { BLOCK: 1_000 });
            return true;
          } catch (error) {
            errors.push((error as Error).message);
            return false;
          }
        },
        'the tailing client to read again',
        30_000,
      );
      for (const message of errors)
        expect(message).toMatch(/^(UNBLOCKED |Socket closed unexpectedly$|read ECONNRESET$)/);
      expect(JSON.stringify(read)).toContain(after);
      expect(tail.isReady).toBe(true);
      expect(client.isReady).toBe(true);
      expect(Date.now() - startedAt).toBeLessThan(60_000);
    } finally {
      tail.destroy();
    }
    expect(errorEvents).toEqual([]);
  }, 90_000);

  it('stops every node and removes its directory; stop again is harmless, and so is a stop during a start', async () => {
    const ports = cluster.nodes.map((node) => node.port);
    closing = true;
    client.destroy();
    await cluster.stop();
    await cluster.stop();
    for (const port of ports) expect(await listening(port)).toBe(false);

    const halfway = new PrivateRedisCluster();
    const starting = halfway.start();
    starting.catch(() => undefined);
    // The processes are spawned before start() first awaits.
    const spawned = halfway.rootNodes.map((node) => Number(new URL(node.url).port));
    expect(spawned).toHaveLength(6);
    await halfway.stop();
    await expect(starting).rejects.toThrow('the cluster was stopped while it started');
    await halfway.stop();
    for (const port of spawned) expect(await listening(port)).toBe(false);
    const left = clusterDirs().filter((name) => !dirsBefore.includes(name));
    expect(left.filter((name) => existsSync(join(tmpdir(), name)))).toEqual([]);
  }, 60_000);
});
