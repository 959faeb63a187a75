import { randomUUID } from 'node:crypto';
import { createRedisClient, type RedisClient } from '@jwt-ms/service-core';
import {
  REDIS_KEY_PREFIX,
  REVOCATION_INDEX_KEY,
  REVOKED_VALUE,
  formatRevocationAnnouncement,
  formatWatermark,
  revocationChannel,
  revokedJtiKey,
  revokedSessionKey,
  subjectNotBeforeKey,
} from '@jwt-ms/contracts';
import { PrivateRedis } from '@jwt-ms/testing';
import { establishRevocationList } from '../../testing';
import { resolveOptions, type AuthJwtModuleOptions, type ResolvedAuthJwtOptions } from '../auth-jwt.options';
import { RevocationUnavailableError, type RevocableToken } from './revocation';
import type { RevocationFreshness } from './revocation-freshness';
import { RevocationView } from './revocation.view';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

function options(overrides: Partial<AuthJwtModuleOptions> = {}): ResolvedAuthJwtOptions {
  return resolveOptions({
    issuer: 'http://issuer.test',
    audience: 'users-service',
    keys: { localJwks: () => ({ keys: [] }) },
    redisUrl: REDIS_URL,
    revocationHeartbeatMs: 50,
    revocationMaxStalenessMs: 400,
    ...overrides,
  });
}

function token(overrides: Partial<RevocableToken> = {}): RevocableToken {
  return { jti: randomUUID(), sid: randomUUID(), sub: randomUUID(), authTime: Date.now() / 1000, ...overrides };
}

/** Polls `condition` every millisecond for at most `ms` milliseconds; returns the milliseconds it took, or null. */
async function within(ms: number, condition: () => boolean): Promise<number | null> {
  const started = performance.now();
  while (performance.now() - started < ms) {
    if (condition()) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return condition() ? performance.now() - started : null;
}

/** Whether a view's first full read has found no established list: what these tests wait for, instead of a sleep. */
function triedToLoad(view: RevocationView): boolean {
  return /no generation marker/.test((view as unknown as { freshness: RevocationFreshness }).freshness.lastReadError);
}

/**
 * Writes revocation entries as the issuer does (the entry, its index member,
 * its announcement), with the layout from contracts: the writer itself lives
 * in the issuer, which this library cannot import. Not atomic, unlike the
 * issuer's script; these tests do not need it to be.
 */
class TestIssuer {
  constructor(private readonly redis: RedisClient) {}

  revokeToken(jti: string, ttlSeconds = 900): Promise<void> {
    return this.write(revokedJtiKey(jti), REVOKED_VALUE, ttlSeconds);
  }

  revokeSession(sid: string, ttlSeconds = 900): Promise<void> {
    return this.write(revokedSessionKey(sid), REVOKED_VALUE, ttlSeconds);
  }

  revokeSubjectBefore(sub: string, notBefore: number, ttlSeconds = 900): Promise<void> {
    return this.write(subjectNotBeforeKey(sub), formatWatermark(notBefore), ttlSeconds);
  }

  private async write(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(key, value, { EX: ttlSeconds });
    await this.redis.zAdd(REVOCATION_INDEX_KEY, { score: Date.now() + ttlSeconds * 1000, value: key });
    const announcement = formatRevocationAnnouncement({ key, value, ttlMs: ttlSeconds * 1000 });
    await this.redis.publish(revocationChannel(this.redis.options?.database), announcement);
  }
}

async function waitReady(client: RedisClient): Promise<void> {
  if (client.isReady) return;
  await new Promise((resolve) => client.once('ready', resolve));
}

describe('RevocationView (real Redis)', () => {
  const clients: RedisClient[] = [];
  const views: RevocationView[] = [];

  async function client(url = REDIS_URL): Promise<RedisClient> {
    const created = createRedisClient(url);
    clients.push(created);
    await waitReady(created);
    return created;
  }

  /** A verifier's view on its own connection, as in another replica. */
  async function startView(overrides: Partial<AuthJwtModuleOptions> = {}, url = REDIS_URL): Promise<RevocationView> {
    await establishRevocationList(await client(url));
    const view = new RevocationView(options({ ...overrides, redisUrl: url }), await client(url));
    views.push(view);
    await view.onApplicationBootstrap();
    return view;
  }

  afterEach(() => {
    for (const view of views.splice(0)) view.onApplicationShutdown();
    for (const created of clients.splice(0)) if (created.isOpen) created.destroy();
  });

  it('tells the public readiness route whether it is usable, not what the list holds', async () => {
    const issuer = new TestIssuer(await client());
    const view = await startView();
    await issuer.revokeToken(randomUUID());
    await within(1000, () => view.size() > 0);
    expect(view.size()).toBeGreaterThan(0);
    expect(Object.keys(view.probe().details).sort()).toEqual(
      ['fresh', 'loaded', 'lost', 'maxStalenessMs', 'policy', 'stalenessMs'].sort(),
    );
  });

  it('learns a revocation written by another process from the announcement, without asking Redis per check', async () => {
    const issuer = new TestIssuer(await client());
    const view = await startView();
    const victim = token();
    const bystander = token();
    expect(view.check(victim)).toBeNull();

    await issuer.revokeToken(victim.jti);
    const tookMs = await within(1000, () => view.check(victim) !== null);

    expect(tookMs).not.toBeNull();
    expect(view.check(victim)).toBe('token revoked');
    expect(view.check(bystander)).toBeNull();
  });

  it('revokes a whole session by sid, and a subject before its watermark by auth_time', async () => {
    const issuer = new TestIssuer(await client());
    const view = await startView();
    const subject = randomUUID();
    const early = token({ sub: subject, authTime: 1_700_000_000.123 });
    const late = token({ sub: subject, authTime: 1_700_000_000.5 });
    const sameSession = token({ sid: early.sid });

    await issuer.revokeSession(early.sid);
    await issuer.revokeSubjectBefore(subject, 1_700_000_000.2);
    const earlyElsewhere = { ...early, sid: randomUUID() };
    await within(1000, () => view.check(sameSession) !== null && view.check(earlyElsewhere) !== null);

    expect(view.check(sameSession)).toBe('session revoked');
    expect(view.check({ ...late, sid: randomUUID() })).toBeNull();
    expect(view.check(earlyElsewhere)).toBe('all tokens of the subject revoked');
  });

  it('loads entries written before it started (full resync), with their remaining lifetime', async () => {
    const issuer = new TestIssuer(await client());
    const earlier = token();
    await issuer.revokeToken(earlier.jti);

    const view = await startView();

    expect(view.isFresh()).toBe(true);
    expect(view.check(earlier)).toBe('token revoked');
  });

  it('ignores announcements that are not revocation entries, or that would pin memory or lock a user out', async () => {
    const view = await startView();
    const publisher = await client();
    const victim = token();
    const channel = revocationChannel();
    const forged = [
      'not json',
      JSON.stringify({ key: `${REDIS_KEY_PREFIX}rate:ip:1`, value: '1', ttlMs: 1000 }), // not a revocation key
      JSON.stringify({ key: revokedJtiKey(victim.jti), value: 1 }), // no lifetime
      JSON.stringify({ key: revokedJtiKey(victim.jti), value: '1', ttlMs: -1 }), // "forever"
      JSON.stringify({ key: revokedJtiKey(victim.jti), value: '1', ttlMs: 0 }),
      JSON.stringify({ key: revokedJtiKey(victim.jti), value: 'x'.repeat(2000), ttlMs: 1000 }), // oversized message
      JSON.stringify({ key: subjectNotBeforeKey(victim.sub), value: '9e15', ttlMs: 1000 }), // a watermark in the future
      JSON.stringify({ key: subjectNotBeforeKey(victim.sub), value: 'soon', ttlMs: 1000 }),
    ];
    for (const message of forged) await publisher.publish(channel, message);
    // Announcements arrive in order: once this one is in, every forged one has been heard (and refused).
    const sentinel = token();
    await publisher.publish(
      channel,
      formatRevocationAnnouncement({ key: revokedJtiKey(sentinel.jti), value: REVOKED_VALUE, ttlMs: 1000 }),
    );
    expect(await within(1000, () => view.check(sentinel) !== null)).not.toBeNull();

    expect(view.check(victim)).toBeNull();
  });

  it('hears only revocations of its own Redis database', async () => {
    const elsewhere = new TestIssuer(await client(`${REDIS_URL}/0`));
    const here = new TestIssuer(await client(`${REDIS_URL}/5`));
    const view = await startView({}, `${REDIS_URL}/5`);
    const victim = token();
    await elsewhere.revokeToken(victim.jti);
    // Published after the other database's entry: once it is in, that one would have been heard too.
    const sentinel = token();
    await here.revokeToken(sentinel.jti);
    expect(await within(1000, () => view.check(sentinel) !== null)).not.toBeNull();
    expect(view.check(victim)).toBeNull();

    await here.revokeToken(victim.jti);
    expect(await within(1000, () => view.check(victim) !== null)).not.toBeNull();
  });

  describe('when Redis goes away (private redis-server)', () => {
    const redis = new PrivateRedis();
    beforeEach(() => redis.start());
    afterEach(() => redis.stop());

    it('fails closed once the copy is older than the bound, reports not ready, and recovers with what was missed', async () => {
      const view = await startView({}, redis.url);
      const victim = token();
      expect(view.probe().up).toBe(true);

      redis.pause(); // hangs without refusing: no PONG, so freshness stops advancing
      const failedAfterMs = await within(2000, () => {
        try {
          view.check(token());
          return false;
        } catch (error) {
          return error instanceof RevocationUnavailableError;
        }
      });
      expect(failedAfterMs ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(400 + 200);
      expect(view.probe()).toMatchObject({ up: false, details: { fresh: false, policy: 'fail-closed' } });

      await redis.stop(); // loses every entry and every connection (this one keeps nothing on disk)
      await redis.start();
      const issuer = new TestIssuer(await client(redis.url));
      await issuer.revokeToken(victim.jti);
      // The list came back without its generation marker: lost, not merely stale.
      expect(await within(5000, () => view.probe().details['lost'] === true)).not.toBeNull();
      expect(view.losses()).toBe(1);
      expect(() => view.check(token())).toThrow(RevocationUnavailableError);

      await establishRevocationList(await client(redis.url)); // what the issuer does after its wait
      // Reconnected, subscribed again and re-read the list: the entry arrives by one path or the other.
      const revokedAgain = () => {
        try {
          return view.isFresh() && view.check(victim) !== null;
        } catch {
          return false; // still lost, until the view has read the new generation
        }
      };
      expect(await within(5000, revokedAgain)).not.toBeNull();
      expect(view.check(victim)).toBe('token revoked');
      expect(view.probe().up).toBe(true);
    });

    it('refuses, and is not ready, until its first full read, even under fail-open: there is no last copy', async () => {
      await establishRevocationList(await client(redis.url));
      redis.pause(); // connections hang: the first read cannot happen
      const connection = createRedisClient(redis.url);
      clients.push(connection);
      const view = new RevocationView(
        options({ revocationFailurePolicy: 'fail-open', redisUrl: redis.url }),
        connection,
      );
      views.push(view);
      const booting = view.onApplicationBootstrap(); // not awaited: it waits for the first read

      expect(() => view.check(token())).toThrow(RevocationUnavailableError);
      expect(view.probe()).toMatchObject({ up: false, details: { loaded: false, policy: 'fail-open' } });

      redis.resume();
      await booting;
      expect(view.isFresh()).toBe(true);
      expect(view.check(token())).toBeNull();
      expect(view.probe().up).toBe(true);
    }, 30_000);

    it('answers from the last copy under fail-open, and still reports the staleness', async () => {
      const issuer = new TestIssuer(await client(redis.url));
      const view = await startView({ revocationFailurePolicy: 'fail-open' }, redis.url);
      const victim = token();
      await issuer.revokeToken(victim.jti);
      await within(1000, () => view.check(victim) !== null);

      redis.pause();
      await within(2000, () => !view.isFresh());

      expect(view.isFresh()).toBe(false);
      expect(view.check(victim)).toBe('token revoked');
      expect(view.check(token())).toBeNull();
      expect(view.probe()).toMatchObject({ up: true, details: { fresh: false, policy: 'fail-open' } });
      redis.resume();
    });

    it("never loads a list without the issuer's generation marker, whatever the policy: empty and lost look alike", async () => {
      const connection = createRedisClient(redis.url);
      clients.push(connection);
      const view = new RevocationView(
        options({ revocationFailurePolicy: 'fail-open', redisUrl: redis.url }),
        connection,
      );
      views.push(view);
      const booting = view.onApplicationBootstrap();
      await waitReady(connection);
      expect(await within(5000, () => triedToLoad(view))).not.toBeNull();
      expect(() => view.check(token())).toThrow(RevocationUnavailableError);
      expect(view.probe()).toMatchObject({ up: false, details: { loaded: false } });

      await establishRevocationList(await client(redis.url), 600);
      await booting;
      expect(view.check(token())).toBeNull();
      expect(view.coveredTokenLifetimeSeconds()).toBe(600);
    }, 30_000);

    it.each(['fail-closed', 'fail-open'] as const)(
      'finds the list lost within a heartbeat when Redis is flushed mid-run (%s), until a new generation is established',
      async (policy) => {
        const issuer = new TestIssuer(await client(redis.url));
        const view = await startView({ revocationFailurePolicy: policy }, redis.url);
        const victim = token();
        await issuer.revokeToken(victim.jti);
        expect(await within(1000, () => view.check(victim) !== null)).not.toBeNull();

        await (await client(redis.url)).flushDb();
        expect(await within(2000, () => view.probe().details['lost'] === true)).not.toBeNull();
        expect(view.losses()).toBe(1);
        if (policy === 'fail-closed') {
          expect(() => view.check(token())).toThrow(RevocationUnavailableError);
          expect(view.probe().up).toBe(false);
        } else {
          expect(view.check(victim)).toBe('token revoked'); // its own copy still holds the entry
          expect(view.check(token())).toBeNull();
          expect(view.probe().up).toBe(true);
        }
        // A restarted replica would hold no copy at all: it must not load the flushed list.
        const newcomer = new RevocationView(
          options({ revocationFailurePolicy: 'fail-open', redisUrl: redis.url }),
          await client(redis.url),
        );
        views.push(newcomer);
        const booting = newcomer.onApplicationBootstrap();
        expect(await within(5000, () => triedToLoad(newcomer))).not.toBeNull();
        expect(() => newcomer.check(victim)).toThrow(RevocationUnavailableError);

        await establishRevocationList(await client(redis.url));
        expect(await within(2000, () => view.probe().details['lost'] === false)).not.toBeNull();
        expect(view.check(victim)).toBe('token revoked');
        expect(view.probe().up).toBe(true);
        await booting;
        expect(newcomer.check(token())).toBeNull();
      },
      30_000,
    );
  });
});
