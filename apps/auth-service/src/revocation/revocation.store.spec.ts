import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  REVOCATION_INDEX_KEY,
  parseRevocationAnnouncement,
  parseWatermark,
  revocationChannel,
  revokedJtiKey,
  revokedSessionKey,
  subjectNotBeforeKey,
} from '@jwt-ms/contracts';
import { RevocationUnavailableError, RevocationView, resolveOptions, type AuthJwtModuleOptions } from '@jwt-ms/auth-jwt';
import { establishRevocationList } from '@jwt-ms/auth-jwt/testing';
import { PrivateRedis, waitUntil } from '@jwt-ms/testing';
import { createRedisClient, type RedisClient } from '@jwt-ms/service-core';
import { RevocationStore } from './revocation.store';

const LIFETIME_SECONDS = 900;

describe('RevocationStore: the issuer writes, every verifier reads the same layout (private Redis)', () => {
  const redis = new PrivateRedis();
  const clients: RedisClient[] = [];
  const views: RevocationView[] = [];
  let store: RevocationStore;

  async function client(): Promise<RedisClient> {
    const created = createRedisClient(redis.url);
    clients.push(created);
    if (!created.isReady) await new Promise((resolve) => created.once('ready', resolve));
    return created;
  }

  /** A verifier's view on a connection of its own, as in a resource service. */
  async function view(): Promise<RevocationView> {
    const options: AuthJwtModuleOptions = {
      issuer: 'http://issuer.test',
      audience: 'users-service',
      keys: { localJwks: () => ({ keys: [] }) },
      redisUrl: redis.url,
      revocationMaxStalenessMs: 15_000,
    };
    const created = new RevocationView(resolveOptions(options), await client());
    views.push(created);
    await created.onApplicationBootstrap();
    return created;
  }

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await redis.start();
    await establishRevocationList(await client(), LIFETIME_SECONDS);
    store = new RevocationStore(await client(), null);
  }, 60_000);

  afterAll(async () => {
    for (const created of views) created.onApplicationShutdown();
    for (const created of clients) if (created.isOpen) created.destroy();
    await redis.stop();
    jest.restoreAllMocks();
  });

  it('stores, indexes and announces each entry in the layout the verifiers parse', async () => {
    const listener = (await client()).duplicate();
    clients.push(listener);
    await listener.connect();
    const heard: string[] = [];
    await listener.subscribe(revocationChannel(), (message) => void heard.push(message));
    const jti = randomUUID();
    const before = Date.now();

    await store.revokeToken(jti, Math.floor(before / 1000) + 300);

    await waitUntil(() => heard.length === 1, 'the announcement');
    const announcement = parseRevocationAnnouncement(heard[0]);
    expect(announcement).toMatchObject({ key: revokedJtiKey(jti), value: '1' });
    // exp + the 60 s margin, rounded down to whole seconds, in milliseconds.
    expect(announcement?.ttlMs).toBeGreaterThanOrEqual(359_000);
    expect(announcement?.ttlMs).toBeLessThanOrEqual(360_000);
    const reader = await client();
    expect(await reader.get(revokedJtiKey(jti))).toBe('1');
    const indexedUntil = await reader.zScore(REVOCATION_INDEX_KEY, revokedJtiKey(jti));
    expect(indexedUntil).toBeGreaterThanOrEqual(before + 359_000);
    expect(indexedUntil).toBeLessThanOrEqual(Date.now() + 360_000);
  });

  it('lets a verifier elsewhere learn every kind of entry, and answers the same itself', async () => {
    const verifier = await view();
    const subject = randomUUID();
    const revoked = { jti: randomUUID(), sid: randomUUID(), sub: randomUUID(), authTime: Date.now() / 1000 };
    const sameSession = { ...revoked, jti: randomUUID(), sub: randomUUID(), sid: randomUUID() };
    const earlier = { jti: randomUUID(), sid: randomUUID(), sub: subject, authTime: 1_700_000_000.1 };
    const later = { ...earlier, jti: randomUUID(), sid: randomUUID(), authTime: 1_700_000_000.3 };

    await store.revokeToken(revoked.jti, Math.floor(Date.now() / 1000) + 300);
    await store.revokeSession(sameSession.sid, LIFETIME_SECONDS);
    await store.revokeSubjectBefore(subject, 1_700_000_000.2, LIFETIME_SECONDS);
    await waitUntil(() => verifier.check(earlier) !== null, 'the watermark to reach the verifier');

    for (const [token, reason] of [
      [revoked, 'token revoked'],
      [sameSession, 'session revoked'],
      [earlier, 'all tokens of the subject revoked'],
      [later, null],
    ] as const) {
      expect(verifier.check(token)).toBe(reason);
      expect(await store.check(token)).toBe(reason);
    }
  });

  it('keeps the highest watermark whatever order the writes arrive in', async () => {
    const verifier = await view();
    const subject = randomUUID();
    await store.revokeSubjectBefore(subject, 1_700_000_100, LIFETIME_SECONDS);
    await store.revokeSubjectBefore(subject, 1_700_000_050, LIFETIME_SECONDS); // an older, slower request
    const between = { jti: randomUUID(), sid: randomUUID(), sub: subject, authTime: 1_700_000_075 };
    await waitUntil(() => verifier.check(between) !== null, 'the watermark to reach the verifier');

    expect(parseWatermark((await (await client()).get(subjectNotBeforeKey(subject))) ?? '')).toBe(1_700_000_100);
    expect(await store.check(between)).toBe('all tokens of the subject revoked');
  });

  it("applies the issuer's own writes at once in its process", async () => {
    const own = await view();
    const withView = new RevocationStore(await client(), own);
    const victim = { jti: randomUUID(), sid: randomUUID(), sub: randomUUID(), authTime: Date.now() / 1000 };

    await withView.revokeSession(victim.sid, LIFETIME_SECONDS);

    expect(own.check(victim)).toBe('session revoked'); // no wait: the write itself updated the view
  });

  it('writes nothing for a token that expired long ago: every verifier refuses it on exp', async () => {
    const jti = randomUUID();
    await store.revokeToken(jti, Math.floor(Date.now() / 1000) - 61);
    expect(await (await client()).get(revokedJtiKey(jti))).toBeNull();
    expect(await (await client()).get(revokedSessionKey(jti))).toBeNull();
  });

  it('swaps the generation marker only over the value it expects', async () => {
    const current = await store.readGeneration();
    expect(await store.replaceGeneration('{"other":1}', 'not what is there')).toBe(current);
    expect(await store.readGeneration()).toBe(current);
  });

  it('reports a Redis that hangs as unavailable, within its timeout', async () => {
    redis.pause();
    try {
      const started = performance.now();
      await expect(store.revokeToken(randomUUID(), Math.floor(Date.now() / 1000) + 300)).rejects.toBeInstanceOf(
        RevocationUnavailableError,
      );
      await expect(
        store.check({ jti: randomUUID(), sid: randomUUID(), sub: randomUUID(), authTime: 0 }),
      ).rejects.toBeInstanceOf(RevocationUnavailableError);
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      redis.resume();
    }
  });
});
