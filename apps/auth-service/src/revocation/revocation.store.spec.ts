import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  REVOCATION_ENTRIES_KEY,
  REVOCATION_EXPIRY_KEY,
  REVOCATION_LOG_KEY,
  authTimeClaimKey,
  parseRevocationEntry,
  revocationField,
} from '@jwt-ms/contracts';
import {
  RevocationUnavailableError,
  RevocationView,
  resolveOptions,
  type AuthJwtModuleOptions,
} from '@jwt-ms/auth-jwt';
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
    for (const created of views) await created.onApplicationShutdown();
    for (const created of clients) if (created.isOpen) created.destroy();
    await redis.stop();
    jest.restoreAllMocks();
  });

  it('stores, indexes and logs each entry in the layout the verifiers parse', async () => {
    const reader = await client();
    const jti = randomUUID();
    const field = revocationField('token', jti);
    const before = Date.now();

    await store.revokeToken(jti, Math.floor(before / 1000) + 300);

    const stored = await reader.hGet(REVOCATION_ENTRIES_KEY, field);
    const entry = parseRevocationEntry(field, String(stored));
    expect(entry).toMatchObject({ kind: 'token', id: jti });
    // exp + the 60 s margin, whole seconds from now, as milliseconds since the epoch (Redis's clock).
    expect(entry?.expiresAtMs).toBeGreaterThanOrEqual(before + 359_000);
    expect(entry?.expiresAtMs).toBeLessThanOrEqual(Date.now() + 360_000);
    expect(await reader.zScore(REVOCATION_EXPIRY_KEY, field)).toBe(entry?.expiresAtMs);
    const [last] = (await reader.xRevRange(REVOCATION_LOG_KEY, '+', '-', { COUNT: 1 })) ?? [];
    expect(last?.message).toEqual({ field, value: stored });
  });

  it('drops expired entries from the hash and the index, and leaves live ones', async () => {
    const reader = await client();
    const field = revocationField('token', `expired-${randomUUID()}`);
    await reader.hSet(REVOCATION_ENTRIES_KEY, field, String(Date.now() - 1000));
    await reader.zAdd(REVOCATION_EXPIRY_KEY, { score: Date.now() - 1000, value: field });
    const live = randomUUID();
    await store.revokeToken(live, Math.floor(Date.now() / 1000) + 300);

    expect(await store.trim()).toBeGreaterThanOrEqual(0);
    expect(await reader.hExists(REVOCATION_ENTRIES_KEY, field)).toBe(0);
    expect(await reader.zScore(REVOCATION_EXPIRY_KEY, field)).toBeNull();
    expect(await reader.hExists(REVOCATION_ENTRIES_KEY, revocationField('token', live))).toBe(1);
  });

  it('lets a verifier elsewhere learn every kind of entry, and answers the same itself', async () => {
    const verifier = await view();
    const subject = randomUUID();
    const revoked = { jti: randomUUID(), sid: randomUUID(), sub: randomUUID(), authTime: Date.now() / 1000 };
    const sameSession = { ...revoked, jti: randomUUID(), sub: randomUUID(), sid: randomUUID() };
    const earlier = { jti: randomUUID(), sid: randomUUID(), sub: subject, authTime: 1_700_000_000 };
    const later = { ...earlier, jti: randomUUID(), sid: randomUUID(), authTime: 1_700_000_001 };

    await store.revokeToken(revoked.jti, Math.floor(Date.now() / 1000) + 300);
    await store.revokeSession(sameSession.sid, LIFETIME_SECONDS);
    await store.revokeSubjectBefore(subject, 1_700_000_001, LIFETIME_SECONDS);
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

    const field = revocationField('subject', subject);
    const stored = parseRevocationEntry(field, String(await (await client()).hGet(REVOCATION_ENTRIES_KEY, field)));
    expect(stored?.kind === 'subject' && stored.notBefore).toBe(1_700_000_100);
    expect(await store.check(between)).toBe('all tokens of the subject revoked');
  });

  it('writes whole seconds only: a fractional watermark is a bug in the caller', async () => {
    await expect(store.revokeSubjectBefore(randomUUID(), 1_700_000_000.5, LIFETIME_SECONDS)).rejects.toThrow(
      RangeError,
    );
  });

  it('rounds a fractional watermark an earlier issuer stored up, when it merges', async () => {
    const reader = await client();
    const subject = randomUUID();
    const field = revocationField('subject', subject);
    await reader.hSet(REVOCATION_ENTRIES_KEY, field, `${Date.now() + 60_000}:1700000100.250`);
    await store.revokeSubjectBefore(subject, 1_700_000_050, LIFETIME_SECONDS);
    const stored = parseRevocationEntry(field, String(await reader.hGet(REVOCATION_ENTRIES_KEY, field)));
    expect(stored?.kind === 'subject' && stored.notBefore).toBe(1_700_000_101);
  });

  describe("a session's auth_time against the subject's watermark", () => {
    const now = () => Math.floor(Date.now() / 1000);
    const watermarkOf = async (subject: string) => {
      const field = revocationField('subject', subject);
      const stored = parseRevocationEntry(field, String(await (await client()).hGet(REVOCATION_ENTRIES_KEY, field)));
      return stored?.kind === 'subject' ? stored.notBefore : null;
    };

    it('is the clock when no watermark is ahead of it, and claims nothing', async () => {
      const subject = randomUUID();
      expect(await store.sessionAuthTime(subject, now())).toBe(now());
      await store.revokeSubjectBefore(subject, now() - 10, LIFETIME_SECONDS);
      const at = now();
      expect(await store.sessionAuthTime(subject, at)).toBe(at);
      expect(await (await client()).exists(authTimeClaimKey(subject))).toBe(0);
    });

    it('is the watermark when it is ahead, and the claim moves the next revocation past it', async () => {
      const subject = randomUUID();
      const at = now();
      await store.revokeSubjectBefore(subject, at + 1, LIFETIME_SECONDS);
      await store.revokeSubjectBefore(subject, at + 1, LIFETIME_SECONDS); // no claim: stays
      expect(await watermarkOf(subject)).toBe(at + 1);

      expect(await store.sessionAuthTime(subject, at)).toBe(at + 1);
      expect(await (await client()).get(authTimeClaimKey(subject))).toBe(String(at + 1));
      await store.revokeSubjectBefore(subject, at + 1, LIFETIME_SECONDS);
      expect(await watermarkOf(subject)).toBe(at + 2);
      expect(await store.check({ jti: randomUUID(), sid: randomUUID(), sub: subject, authTime: at + 1 })).toBe(
        'all tokens of the subject revoked',
      );
    });

    it('leaves a watermark more than 2 s ahead unclaimed, for the caller to refuse', async () => {
      const subject = randomUUID();
      const at = now();
      await store.revokeSubjectBefore(subject, at + 3, LIFETIME_SECONDS);
      expect(await store.sessionAuthTime(subject, at)).toBe(at + 3);
      expect(await (await client()).exists(authTimeClaimKey(subject))).toBe(0);
    });
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
    expect(await (await client()).hExists(REVOCATION_ENTRIES_KEY, revocationField('token', jti))).toBe(0);
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
      await expect(store.sessionAuthTime(randomUUID(), Math.floor(Date.now() / 1000))).rejects.toBeInstanceOf(
        RevocationUnavailableError,
      );
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      redis.resume();
    }
  });
});
