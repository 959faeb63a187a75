import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { REVOCATION_ENTRIES_KEY, REVOCATION_GENERATION_KEY, REVOCATION_LOG_KEY } from '@jwt-ms/contracts';
import { RevocationView, resolveOptions, type RevocableToken } from '@jwt-ms/auth-jwt';
import { establishRevocationList } from '@jwt-ms/auth-jwt/testing';
import { PrivateRedisCluster, waitUntil } from '@jwt-ms/testing';
import { createRedisClient, type RedisClient } from '@jwt-ms/service-core';
import { RevocationStore } from './revocation.store';

const LIFETIME_SECONDS = 900;

/** A user token's revocable parts (a session id always set). */
function token(
  overrides: Partial<Omit<RevocableToken, 'sid'>> & { sid?: string } = {},
): RevocableToken & { sid: string } {
  return { jti: randomUUID(), sid: randomUUID(), sub: randomUUID(), authTime: Date.now() / 1000, ...overrides };
}

/**
 * The revocation list on a Redis Cluster (three masters, a replica each, made
 * by `redis-cli --cluster create`): the issuer's script writes keys of one
 * slot (the hash tag), verifiers read in full and tail the log on that slot's
 * master, and a failover of that master loses nothing a verifier holds.
 */
describe('the revocation list on a local Redis Cluster (3 masters, 3 replicas)', () => {
  const cluster = new PrivateRedisCluster();
  const clients: RedisClient[] = [];
  const views: RevocationView[] = [];
  let store: RevocationStore;

  async function client(): Promise<RedisClient> {
    const created = createRedisClient({ url: 'redis://unused', clusterNodes: cluster.rootNodes.map(({ url }) => url) });
    clients.push(created);
    await waitUntil(() => created.isReady, 'the cluster client to learn the slot map', 30_000);
    return created;
  }

  async function view(): Promise<RevocationView> {
    const created = new RevocationView(
      resolveOptions({
        issuer: 'http://issuer.test',
        audience: 'users-service',
        keys: { localJwks: () => ({ keys: [] }) },
        redisUrl: 'redis://unused',
        revocationMaxStalenessMs: 15_000,
      }),
      await client(),
    );
    views.push(created);
    await created.onApplicationBootstrap();
    return created;
  }

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    await cluster.start();
    await establishRevocationList(await client(), LIFETIME_SECONDS);
    store = new RevocationStore(await client(), null);
  }, 120_000);

  afterAll(async () => {
    for (const created of views) await created.onApplicationShutdown();
    for (const created of clients) {
      try {
        created.destroy();
      } catch {
        /* already closed */
      }
    }
    await cluster.stop();
    jest.restoreAllMocks();
  }, 60_000);

  it('keeps every key of the list on one master, so the write script runs (no CROSSSLOT)', async () => {
    const masters = new Set(
      await Promise.all(
        [REVOCATION_ENTRIES_KEY, REVOCATION_LOG_KEY, REVOCATION_GENERATION_KEY].map((key) => cluster.masterOf(key)),
      ),
    );
    expect(masters.size).toBe(1);
    const victim = token();
    await store.revokeToken(victim.jti, Math.floor(Date.now() / 1000) + 300);
    expect(await store.check(victim)).toBe('token revoked');
  });

  it('reads the list in full on a cluster, tails its log, and answers as the issuer does', async () => {
    const before = token();
    await store.revokeSession(before.sid, LIFETIME_SECONDS);
    const verifier = await view();
    expect(verifier.check(before)).toBe('session revoked'); // from the full read

    const subject = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const after = token({ sub: subject, authTime: now });
    await store.revokeSubjectBefore(subject, now + 1, LIFETIME_SECONDS);
    await waitUntil(() => verifier.check(after) !== null, 'the watermark to reach the verifier through the log');
    expect(verifier.check(after)).toBe('all tokens of the subject revoked');
    expect(await store.check(after)).toBe('all tokens of the subject revoked');
    // The login's read-and-claim and the next revocation touch the claim key in the list's slot too.
    expect(await store.sessionAuthTime(subject, now)).toBe(now + 1);
    await store.revokeSubjectBefore(subject, now + 1, LIFETIME_SECONDS);
    const claimed = token({ sub: subject, authTime: now + 1 });
    await waitUntil(() => verifier.check(claimed) !== null, 'the moved watermark to reach the verifier');
    expect(await store.check(claimed)).toBe('all tokens of the subject revoked');
  });

  it("survives a failover of the list's master: nothing held is lost, later writes arrive, no full read", async () => {
    const verifier = await view();
    const held = token();
    await store.revokeToken(held.jti, Math.floor(Date.now() / 1000) + 300);
    await waitUntil(() => verifier.check(held) !== null, 'the entry before the failover');
    const fullReads = verifier.fullReads();

    const { from, to } = await cluster.failover(REVOCATION_LOG_KEY);
    expect(to).not.toBe(from);
    expect(await cluster.masterOf(REVOCATION_LOG_KEY)).toBe(to);

    // The issuer's next write may meet the old master's redirect: it retries as a client would.
    const later = token();
    await waitUntil(
      async () => {
        try {
          await store.revokeToken(later.jti, Math.floor(Date.now() / 1000) + 300);
          return true;
        } catch {
          return false;
        }
      },
      'a write on the new master',
      30_000,
    );
    await waitUntil(() => verifier.check(later) !== null, 'the write after the failover to reach the verifier', 30_000);
    expect(verifier.check(held)).toBe('token revoked');
    expect(await store.check(held)).toBe('token revoked'); // replicated before the failover
    // The replica had every entry: the catch-up point held, so the verifier read on from it.
    expect(verifier.fullReads()).toBe(fullReads);
    await waitUntil(() => verifier.isFresh(), 'the verifier fresh again');

    // A replica that starts now reads the list in full from the new master.
    const newcomer = await view();
    expect(newcomer.check(held)).toBe('token revoked');
    expect(newcomer.check(later)).toBe('token revoked');
  }, 120_000);
});
