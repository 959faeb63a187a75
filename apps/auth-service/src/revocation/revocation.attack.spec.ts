import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { REVOCATION_ENTRIES_KEY, REVOCATION_GENERATION_KEY, REVOCATION_LOG_KEY } from '@jwt-ms/contracts';
import { randomUUID } from 'node:crypto';
import { RevocationView, resolveOptions, type AuthJwtModuleOptions } from '@jwt-ms/auth-jwt';
import { PrivateRedis, waitUntil } from '@jwt-ms/testing';
import { createRedisClient, type RedisClient } from '@jwt-ms/service-core';
import type { AuthServiceConfig } from '../auth-service.config';
import { RevocationGenerationRecord } from './revocation-generation.entity';
import { RevocationStore } from './revocation.store';
import { RevocationGenerationKeeper } from './revocation-generation.keeper';

/**
 * The revocation design against what an attacker or an unlucky operator does:
 * a watermark written from a clock far ahead, malformed log entries, a log key
 * of the wrong type, and two issuers that disagree about the token lifetime.
 * Each was found by an attack run; each states what must hold.
 */
describe('revocation design under attack (real Redis, real SQLite)', () => {
  const redis = new PrivateRedis();
  let client: RedisClient;
  let database: DataSource;
  const keepers: RevocationGenerationKeeper[] = [];
  const views: RevocationView[] = [];

  function keeper(ttlSeconds: number): RevocationGenerationKeeper {
    const created = new RevocationGenerationKeeper(
      new RevocationStore(client, null),
      database.getRepository(RevocationGenerationRecord),
      { ACCESS_TOKEN_TTL_SECONDS: ttlSeconds } as AuthServiceConfig,
    );
    keepers.push(created);
    return created;
  }

  beforeAll(async () => {
    await redis.start();
    client = createRedisClient(redis.url);
    if (!client.isReady) await new Promise((resolve) => client.once('ready', resolve));
    database = await new DataSource({
      type: 'better-sqlite3',
      database: ':memory:',
      entities: [RevocationGenerationRecord],
      synchronize: true,
    }).initialize();
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  }, 60_000);

  afterEach(async () => {
    for (const created of keepers.splice(0)) created.onApplicationShutdown();
    for (const view of views.splice(0)) await view.onApplicationShutdown();
  }, 60_000);

  afterAll(async () => {
    jest.restoreAllMocks();
    client?.destroy();
    await database?.destroy();
    await redis.stop();
  }, 60_000);

  /** A verifier's view on the private Redis: a fast heartbeat unless the test needs the defaults. */
  async function startView(
    timing: Partial<AuthJwtModuleOptions> = { revocationHeartbeatMs: 100, revocationMaxStalenessMs: 1000 },
  ): Promise<RevocationView> {
    const view = new RevocationView(
      resolveOptions({
        issuer: 'http://issuer.test',
        audience: 'users-service',
        keys: { localJwks: () => ({ keys: [] }) },
        redisUrl: redis.url,
        ...timing,
      }),
      client,
    );
    views.push(view);
    await view.onApplicationBootstrap();
    return view;
  }

  /** A measurement window of `ms` milliseconds, on the clock: for rates, never to wait for an outcome. */
  async function window(ms: number): Promise<void> {
    const started = Date.now();
    await waitUntil(() => Date.now() - started >= ms, `a ${ms} ms window`, ms + 10_000);
  }

  it('a watermark once written from a clock ahead by > 300 s does not make verifiers drop later revocations of the subject', async () => {
    await keeper(900).reconcile();
    const store = new RevocationStore(client, null);
    const view = await startView();
    const sub = randomUUID();
    // The issuer's clock was stepped 10 minutes ahead for one "logout everywhere", then corrected.
    await store.revokeSubjectBefore(sub, Math.floor(Date.now() / 1000) + 600, 900);
    // Later, with a correct clock, the user logs out everywhere again (password change).
    const notBefore = Math.floor(Date.now() / 1000) + 1;
    await store.revokeSubjectBefore(sub, notBefore, 900);
    const stolen = { jti: randomUUID(), sid: randomUUID(), sub, authTime: notBefore - 60 };
    await waitUntil(() => view.check(stolen) !== null, 'the watermark to reach the view');
    // The issuer's own HMGET check and every verifier's view must agree that the stolen token is revoked.
    expect({ issuer: await store.check(stolen), view: view.check(stolen) }).toEqual({
      issuer: 'all tokens of the subject revoked',
      view: 'all tokens of the subject revoked',
    });
  }, 60_000);

  it('malformed log entries (missing fields, binary, 1 MB values) neither stop the tail nor the next revocation', async () => {
    await keeper(900).reconcile();
    const store = new RevocationStore(client, null);
    const view = await startView();
    await client.xAdd(REVOCATION_LOG_KEY, '*', { other: 'x' });
    await client.xAdd(REVOCATION_LOG_KEY, '*', { field: 'jti:\u0000\uffff', value: '\u0000' });
    await client.xAdd(REVOCATION_LOG_KEY, '*', { field: 'jti:' + 'a'.repeat(1 << 20), value: '9'.repeat(1 << 20) });
    await client.xAdd(REVOCATION_LOG_KEY, '*', { field: 'sub:x', value: '1:NaN' });
    await client.xAdd(REVOCATION_LOG_KEY, '*', { field: 'sub:y', value: `${Date.now() + 60_000}:1e308` });
    const jti = randomUUID();
    await store.revokeToken(jti, Math.floor(Date.now() / 1000) + 600);
    const stolen = { jti, sid: randomUUID(), sub: randomUUID(), authTime: Date.now() / 1000 };
    await waitUntil(() => view.check(stolen) !== null, 'the revocation after the malformed entries');
    expect(view.isFresh()).toBe(true);
    expect(view.check(stolen)).toBe('token revoked');
  }, 60_000);

  it('a log key of the wrong type fails closed with a clear reason and does not spin', async () => {
    await keeper(900).reconcile();
    const view = await startView();
    await client.del(REVOCATION_LOG_KEY);
    await client.set(REVOCATION_LOG_KEY, 'not a stream');
    const freshness = (view as unknown as { freshness: { lastReadError: string } }).freshness;
    await waitUntil(() => /WRONGTYPE/.test(freshness.lastReadError), 'the view to report the wrong type');
    await client.configResetStat();
    await window(2000);
    const stats = String(await client.info('commandstats'));
    const calls = (name: string) =>
      Number(new RegExp(`cmdstat_${name.replace('|', '\\|')}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    await waitUntil(() => !view.isFresh(), 'the view to turn stale (fail closed)');
    expect(freshness.lastReadError).toMatch(/WRONGTYPE/);
    expect(calls('xread') + calls('xinfo|stream') + calls('get') + calls('hscan')).toBeLessThan(100);
    await client.del(REVOCATION_LOG_KEY);
  }, 60_000);

  it(
    'two issuer replicas with different ACCESS_TOKEN_TTL_SECONDS (a rolling update) keep every verifier fresh ' +
      'and reading the list in full only once',
    async () => {
      // A rolling update of auth-service that changes ACCESS_TOKEN_TTL_SECONDS runs old and new pods side by side.
      const old = keeper(900);
      expect((await old.reconcile()).state).toBe('established');

      // A list of a realistic size: 300 000 live token entries, written straight into the hash.
      const value = String(Date.now() + 3600_000);
      const fill = `for i = tonumber(ARGV[1]), tonumber(ARGV[2]) do redis.call('HSET', KEYS[1], 'jti:' .. i, ARGV[3]) end`;
      for (let from = 1; from <= 300_000; from += 50_000) {
        await client.eval(fill, {
          keys: [REVOCATION_ENTRIES_KEY],
          arguments: [String(from), String(from + 49_999), value],
        });
      }

      const view = await startView({}); // the defaults: a 500 ms heartbeat, a 2000 ms bound
      expect(view.isFresh()).toBe(true);
      const readsBefore = view.fullReads();

      const young = keeper(600);
      old.onApplicationBootstrap();
      young.onApplicationBootstrap();

      const markers = new Set<string | null>();
      let samples = 0;
      let staleSamples = 0;
      let staleEpisodes = 0; // fresh → stale transitions
      let wasFresh = true;
      const until = performance.now() + 8000;
      while (performance.now() < until) {
        markers.add(await client.get(REVOCATION_GENERATION_KEY));
        const fresh = view.isFresh();
        samples++;
        if (!fresh) staleSamples++;
        if (wasFresh && !fresh) staleEpisodes++;
        wasFresh = fresh;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }

      // The marker flips every second (each keeper swaps in its own lifetime), but it names the same generation:
      // no full read for it, and the view stays fresh throughout. Before the verifier compared the generation
      // rather than the raw text, a full read of 300 000 entries was abandoned at every flip and the view was
      // stale (503 under fail-closed) in some 40 % of the samples.
      expect(view.fullReads() - readsBefore).toBeLessThanOrEqual(1);
      // The bug went stale at every flip: some 8 episodes in 8 s, 40 % of the samples. A loaded machine may
      // stall the process beyond the 2 s bound once or twice, which makes a run of consecutive stale samples
      // (4 of 80 were seen in CI): count episodes, and bound the share well below the bug's.
      expect(staleEpisodes).toBeLessThanOrEqual(2);
      expect(staleSamples / samples).toBeLessThan(0.2);
      expect(markers.size).toBeLessThanOrEqual(2);
    },
    120_000,
  );
});
