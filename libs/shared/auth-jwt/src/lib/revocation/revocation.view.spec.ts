import { randomUUID } from 'node:crypto';
import { createRedisClient, type RedisClient } from '@jwt-ms/service-core';
import {
  REVOCATION_ENTRIES_KEY,
  REVOCATION_EXPIRY_KEY,
  REVOCATION_LOG_KEY,
  formatRevocationValue,
  revocationField,
  type RevocationEntry,
} from '@jwt-ms/contracts';
import { PrivateRedis, TcpProxy } from '@jwt-ms/testing';
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

/** A user token's revocable parts (a session id always set). */
function token(
  overrides: Partial<Omit<RevocableToken, 'sid'>> & { sid?: string } = {},
): RevocableToken & { sid: string } {
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
 * Writes revocation entries as the issuer does (the entry in the hash, its
 * expiry in the index, the log entry), with the layout from contracts: the
 * writer itself lives in the issuer, which this library cannot import. Not
 * atomic and without the merge, unlike the issuer's script; these tests do not need either.
 */
class TestIssuer {
  constructor(private readonly redis: RedisClient) {}

  revokeToken(jti: string, ttlSeconds = 900): Promise<void> {
    return this.write({ kind: 'token', id: jti, expiresAtMs: Date.now() + ttlSeconds * 1000 });
  }

  revokeSession(sid: string, ttlSeconds = 900): Promise<void> {
    return this.write({ kind: 'session', id: sid, expiresAtMs: Date.now() + ttlSeconds * 1000 });
  }

  revokeSubjectBefore(sub: string, notBefore: number, ttlSeconds = 900): Promise<void> {
    return this.write({ kind: 'subject', id: sub, notBefore, expiresAtMs: Date.now() + ttlSeconds * 1000 });
  }

  async write(entry: RevocationEntry): Promise<void> {
    const field = revocationField(entry.kind, entry.id);
    const value = formatRevocationValue(entry);
    await this.redis.hSet(REVOCATION_ENTRIES_KEY, field, value);
    await this.redis.zAdd(REVOCATION_EXPIRY_KEY, { score: entry.expiresAtMs, value: field });
    await this.redis.xAdd(REVOCATION_LOG_KEY, '*', { field, value });
  }

  /** A log entry as anyone allowed to write could add it: no checks. */
  async forge(field: string, value: string): Promise<void> {
    await this.redis.xAdd(REVOCATION_LOG_KEY, '*', { field, value });
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

  afterEach(async () => {
    for (const view of views.splice(0)) await view.onApplicationShutdown();
    for (const created of clients.splice(0)) if (created.isOpen) created.destroy();
  });

  it('tells the public readiness route whether it is usable, not what the list holds', async () => {
    const issuer = new TestIssuer(await client());
    const view = await startView();
    await issuer.revokeToken(randomUUID());
    await within(1000, () => view.size() > 0);
    expect(view.size()).toBeGreaterThan(0);
    expect(Object.keys(view.probe().details).sort()).toEqual(
      ['fresh', 'full', 'loaded', 'lost', 'maxStalenessMs', 'policy', 'stalenessMs'].sort(),
    );
  });

  it('learns a revocation written by another process from the log, without asking Redis per check', async () => {
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

  it('loads entries written before it started (full read), with their remaining lifetime', async () => {
    const issuer = new TestIssuer(await client());
    const earlier = token();
    await issuer.revokeToken(earlier.jti);

    const view = await startView();

    expect(view.isFresh()).toBe(true);
    expect(view.check(earlier)).toBe('token revoked');
  });

  describe('status(): the entry that revokes a token, as this replica applied it', () => {
    it('measures a revocation pushed by the log: announced (the log entry), applied, the delay between', async () => {
      const issuer = new TestIssuer(await client());
      const view = await startView();
      const victim = token();
      expect(view.status(victim)).toEqual({ revoked: false });

      const before = Date.now();
      await issuer.revokeSession(victim.sid);
      const after = Date.now();
      expect(await within(2000, () => view.status(victim).revoked)).not.toBeNull();

      const status = view.status(victim);
      expect(status).toMatchObject({ revoked: true, by: 'session', applied: { kind: 'session', id: victim.sid } });
      const applied = status.revoked ? status.applied : null;
      expect(applied?.source).toBe('pubsub');
      // One host: Redis's clock is this one, so the announcement falls within the write and the delay is real.
      expect(applied?.announcedAtMs).toBeGreaterThanOrEqual(before);
      expect(applied?.announcedAtMs).toBeLessThanOrEqual(after);
      expect(applied?.delayMs).toBe((applied?.appliedAtMs ?? 0) - (applied?.announcedAtMs ?? 0));
      expect(applied?.delayMs).toBeGreaterThanOrEqual(0);
      expect(applied?.delayMs).toBeLessThan(2000);
    });

    it('names the token (jti) and the subject (logout everywhere) entries, in the order check() applies them', async () => {
      const issuer = new TestIssuer(await client());
      const view = await startView();
      const subject = randomUUID();
      const byToken = token({ sub: subject, authTime: 1_700_000_000 });
      const bySubject = token({ sub: subject, authTime: 1_700_000_000 });

      await issuer.revokeToken(byToken.jti);
      await issuer.revokeSubjectBefore(subject, 1_700_000_001);
      await within(2000, () => view.status(bySubject).revoked && view.status(byToken).revoked);

      expect(view.status(byToken)).toMatchObject({ by: 'token', applied: { id: byToken.jti, source: 'pubsub' } });
      expect(view.status(bySubject)).toMatchObject({
        by: 'subject',
        applied: { kind: 'subject', id: subject, notBefore: 1_700_000_001, source: 'pubsub' },
      });
    });

    it('says an entry found by the full read at start was loaded: no announcement time, no delay', async () => {
      const issuer = new TestIssuer(await client());
      const earlier = token();
      await issuer.revokeToken(earlier.jti);

      const view = await startView();

      expect(view.status(earlier)).toMatchObject({
        revoked: true,
        by: 'token',
        applied: { source: 'load', announcedAtMs: null, delayMs: null, appliedAtMs: expect.any(Number) },
      });
    });

    it("does not record the issuer's own apply(), only the log's delivery of the same write, with its delay", async () => {
      const issuer = new TestIssuer(await client());
      const view = await startView();
      const victim = token();
      const entry = { kind: 'session', id: victim.sid, expiresAtMs: Date.now() + 900_000 } as const;

      expect(view.apply(entry)).toBe(true);
      expect(view.status(victim)).toEqual({ revoked: true, by: 'session', applied: null });

      await issuer.write(entry);
      const recorded = await within(2000, () => {
        const status = view.status(victim);
        return status.revoked && status.applied !== null;
      });
      expect(recorded).not.toBeNull();
      expect(view.status(victim)).toMatchObject({
        by: 'session',
        applied: { source: 'pubsub', delayMs: expect.any(Number) },
      });
    });
  });

  it('ignores log entries that are not revocation entries', async () => {
    const view = await startView();
    const issuer = new TestIssuer(await client());
    const victim = token();
    const soon = String(Date.now() + 60_000);
    const forged: Array<[string, string]> = [
      ['rate:ip:1', soon], // not a revocation field
      [revocationField('token', victim.jti), 'soon'], // no expiry
      [revocationField('token', victim.jti), String(Date.now() - 1000)], // expired
      [revocationField('token', victim.jti), '9'.repeat(2000)], // oversized
      [revocationField('subject', victim.sub), `${soon}:soon`],
      [revocationField('subject', victim.sub), soon], // no watermark
    ];
    for (const [field, value] of forged) await issuer.forge(field, value);
    // The log is read in order: once this one is in, every forged one has been read (and refused).
    const sentinel = token();
    await issuer.revokeToken(sentinel.jti);
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

  describe('at its memory bound (revocationMaxEntries), on a private redis-server', () => {
    const redis = new PrivateRedis();
    beforeEach(() => redis.start(), 60_000);
    afterEach(() => redis.stop());

    it('stops growing and fails closed, says why, and recovers once expiries make room and a full read fits', async () => {
      const issuer = new TestIssuer(await client(redis.url));
      const view = await startView({ revocationMaxEntries: 3, revocationMaxStalenessMs: 2000 }, redis.url);
      const expiresAtMs = Date.now() + 2000;
      const shortLived = [token(), token(), token()];
      for (const entry of shortLived) await issuer.write({ kind: 'token', id: entry.jti, expiresAtMs });
      expect(await within(2000, () => view.check(shortLived[2]) !== null)).not.toBeNull();
      expect(view.probe()).toMatchObject({ up: true, details: { full: false } });

      const overflow = token();
      await issuer.revokeToken(overflow.jti); // the fourth entry: refused by the list
      expect(await within(2000, () => view.probe().details['full'] === true)).not.toBeNull();
      expect(view.size()).toBe(3);
      expect(view.probe().up).toBe(false);
      expect(() => view.check(overflow)).toThrow(RevocationUnavailableError);

      // The clock, not a sleep: once the three have expired the view prunes them, reads in full, and holds the fourth.
      expect(
        await within(15_000, () => {
          try {
            return view.check(overflow) === 'token revoked';
          } catch {
            return false;
          }
        }),
      ).not.toBeNull();
      expect(view.probe()).toMatchObject({ up: true, details: { full: false } });
      expect(view.check(shortLived[0])).toBeNull();
    }, 60_000);

    it('under fail-open keeps answering at the bound, without the entries it could not hold, and says so', async () => {
      const issuer = new TestIssuer(await client(redis.url));
      const view = await startView({ revocationMaxEntries: 1, revocationFailurePolicy: 'fail-open' }, redis.url);
      const [held, dropped] = [token(), token()];
      await issuer.revokeToken(held.jti);
      await issuer.revokeToken(dropped.jti);
      expect(await within(2000, () => view.probe().details['full'] === true)).not.toBeNull();
      expect(view.check(held)).toBe('token revoked');
      expect(view.check(dropped)).toBeNull(); // what fail-open means: the cost of answering
      expect(view.probe().up).toBe(true);
    }, 60_000);
  });

  describe('catching up after a partition (private redis-server behind a proxy that can be cut)', () => {
    const redis = new PrivateRedis();
    let proxy: TcpProxy;
    beforeEach(async () => {
      await redis.start();
      proxy = new TcpProxy(redis.port);
      await proxy.start();
    }, 60_000);
    afterEach(async () => {
      await proxy.stop();
      await redis.stop();
    });

    /** Every token's answer from two views: they must agree on each. */
    function answers(view: RevocationView, tokens: RevocableToken[]): Array<string | null> {
      return tokens.map((candidate) => view.check(candidate));
    }

    /**
     * A view behind the proxy, some entries, then a cut during which the
     * issuer writes more, raises a watermark, and an entry the view holds expires.
     */
    async function partitioned() {
      const issuer = new TestIssuer(await client(redis.url));
      await establishRevocationList(await client(redis.url));
      const connection = await client(proxy.url);
      const view = new RevocationView(options({ redisUrl: proxy.url, revocationMaxStalenessMs: 2000 }), connection);
      views.push(view);
      await view.onApplicationBootstrap();
      const subject = randomUUID();
      const before = [token(), token(), token()];
      const expiring = token();
      const betweenWatermarks = token({ sub: subject, authTime: 1_700_000_150 });
      await issuer.revokeToken(before[0].jti);
      await issuer.revokeSession(before[1].sid);
      await issuer.revokeSubjectBefore(subject, 1_700_000_100);
      const expiresAtMs = Date.now() + 1500;
      await issuer.write({ kind: 'token', id: expiring.jti, expiresAtMs });
      expect(await within(2000, () => view.check(expiring) !== null && view.check(before[1]) !== null)).not.toBeNull();
      expect(view.check(betweenWatermarks)).toBeNull();

      proxy.cut();
      const during = [token(), token()];
      await issuer.revokeToken(during[0].jti);
      await issuer.revokeSession(during[1].sid);
      await issuer.revokeSubjectBefore(subject, 1_700_000_200); // rises past betweenWatermarks' auth_time
      // The clock, not a sleep: past the expiring entry's expiry (whole seconds, rounded up, on the view's side).
      await within(5000, () => Date.now() > expiresAtMs + 1000);
      return { issuer, view, tokens: [...before, expiring, betweenWatermarks, ...during, token()] };
    }

    it('catches up from the last entry it saw: the same view as a full read, without reading in full', async () => {
      const { issuer, view, tokens } = await partitioned();
      const fullReadsBefore = view.fullReads();
      proxy.restore();
      const sentinel = token();
      await issuer.revokeToken(sentinel.jti);
      expect(await within(10_000, () => view.isFresh() && view.check(sentinel) !== null)).not.toBeNull();

      const fresh = await startView({}, redis.url);
      expect(answers(view, tokens)).toEqual(answers(fresh, tokens));
      expect(answers(view, tokens)).toEqual([
        'token revoked',
        'session revoked',
        null,
        null, // expired meanwhile, on both
        'all tokens of the subject revoked', // the watermark rose meanwhile
        'token revoked',
        'session revoked',
        null,
      ]);
      expect(view.fullReads()).toBe(fullReadsBefore); // incremental: no full read after the first
    }, 60_000);

    it('reads in full when the log no longer holds its catch-up point (trimmed meanwhile)', async () => {
      const { issuer, view, tokens } = await partitioned();
      const fullReadsBefore = view.fullReads();
      // Trim every log entry written so far, as the issuer's retention would after a long partition.
      await (await client(redis.url)).xTrim(REVOCATION_LOG_KEY, 'MINID', String(Date.now() + 1));
      proxy.restore();
      const sentinel = token();
      await issuer.revokeToken(sentinel.jti);
      expect(await within(10_000, () => view.isFresh() && view.check(sentinel) !== null)).not.toBeNull();

      expect(view.fullReads()).toBe(fullReadsBefore + 1);
      const fresh = await startView({}, redis.url);
      expect(answers(view, tokens)).toEqual(answers(fresh, tokens));
      expect(view.check(tokens[5])).toBe('token revoked'); // written during the cut, trimmed from the log
    }, 60_000);
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
      // Nor does a stale list say "not revoked" to the status route.
      expect(() => view.status(victim)).toThrow(RevocationUnavailableError);

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
