import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { REVOCATION_GENERATION_KEY, parseRevocationGeneration } from '@jwt-ms/contracts';
import { PrivateRedis } from '@jwt-ms/testing';
import { createRedisClient, type RedisClient } from '@jwt-ms/service-core';
import { loadAuthServiceConfig, type AuthServiceConfig } from '../auth-service.config';
import { RevocationGenerationRecord } from './revocation-generation.entity';
import { RevocationStore } from './revocation.store';
import { RevocationGenerationKeeper } from './revocation-generation.keeper';

const TTL_SECONDS = 900;
/** One access-token lifetime plus the 60 s margin, in milliseconds. */
const WAIT_MS = (TTL_SECONDS + 60) * 1000;

describe('RevocationGenerationKeeper (real Redis, real SQLite)', () => {
  const redis = new PrivateRedis();
  let client: RedisClient;
  let database: DataSource;
  let clock = 1_800_000_000_000;
  const errors: string[] = [];

  function keeper(config: Partial<AuthServiceConfig> = {}): RevocationGenerationKeeper {
    return new RevocationGenerationKeeper(
      new RevocationStore(client, null),
      database.getRepository(RevocationGenerationRecord),
      { ACCESS_TOKEN_TTL_SECONDS: TTL_SECONDS, ...config } as AuthServiceConfig,
      () => clock,
    );
  }

  const marker = async () => parseRevocationGeneration(await client.get(REVOCATION_GENERATION_KEY));

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
    jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => void errors.push(String(message)));
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    client?.destroy();
    await database?.destroy();
    await redis.stop();
  });

  it('establishes the list at a first start, and keeps it while the marker is there', async () => {
    const issuer = keeper();
    const first = await issuer.reconcile();
    expect(first.state).toBe('established');
    expect(await marker()).toMatchObject({ established: true, tokenLifetimeSeconds: TTL_SECONDS });
    expect(await database.getRepository(RevocationGenerationRecord).count()).toBe(1);
    expect(await issuer.reconcile()).toEqual(first);
  });

  it('after a flush, waits one access-token lifetime plus the margin before establishing a new generation', async () => {
    const before = await marker();
    await client.flushDb();
    const lostAt = clock;
    const issuer = keeper();

    expect(await issuer.reconcile()).toMatchObject({ state: 'waiting', establishesAt: lostAt + WAIT_MS });
    expect(await marker()).toMatchObject({ established: false, establishesAt: lostAt + WAIT_MS });
    expect(errors.join('\n')).toContain('Redis has lost the revocation list');

    clock = lostAt + WAIT_MS - 1;
    expect((await issuer.reconcile()).state).toBe('waiting');
    expect((await marker())?.established).toBe(false);

    clock = lostAt + WAIT_MS;
    const after = await issuer.reconcile();
    expect(after.state).toBe('established');
    expect(after).not.toEqual({ state: 'established', id: before?.id });
    expect(await marker()).toMatchObject({ established: true });
  });

  it('starts the wait again when Redis loses its data during the wait (the revocations made meanwhile)', async () => {
    await client.flushDb();
    const issuer = keeper();
    const firstLoss = clock;
    await issuer.reconcile();
    clock += WAIT_MS / 2;
    await client.flushDb(); // the waiting marker goes too: the loss is seen again
    const secondLoss = clock;
    expect(await issuer.reconcile()).toMatchObject({ state: 'waiting', establishesAt: secondLoss + WAIT_MS });

    clock = firstLoss + WAIT_MS;
    expect((await issuer.reconcile()).state).toBe('waiting');
    clock = secondLoss + WAIT_MS;
    expect((await issuer.reconcile()).state).toBe('established');
  });

  it('lets two issuer replicas that see the same loss agree on one generation', async () => {
    await client.flushDb();
    const [a, b] = [keeper(), keeper()];
    await Promise.all([a.reconcile(), b.reconcile()]);
    const waiting = await marker();
    expect(waiting?.established).toBe(false);
    clock = (waiting?.establishesAt ?? 0) + 1;
    await Promise.all([a.reconcile(), b.reconcile()]);
    const [stateA, stateB] = await Promise.all([a.reconcile(), b.reconcile()]);
    expect(stateA).toEqual(stateB);
    expect(stateA.state).toBe('established');
  });

  it('with REVOCATION_LOSS_WAIT_SECONDS=0 (development), establishes again at once, saying what that means', async () => {
    await client.flushDb();
    const state = await keeper({ REVOCATION_LOSS_WAIT_SECONDS: 0 }).reconcile();
    expect(state.state).toBe('established');
    expect(errors.at(-1)).toContain('tokens revoked before the loss are accepted');
  });

  it('refuses a shorter wait than one lifetime + 60 s in production', () => {
    const production = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://auth@db/auth',
      SIGNING_JWKS: '{"keys":[]}',
      ACCESS_TOKEN_TTL_SECONDS: '900',
    };
    expect(() => loadAuthServiceConfig({ ...production, REVOCATION_LOSS_WAIT_SECONDS: '0' })).toThrow(
      /REVOCATION_LOSS_WAIT_SECONDS.*at least 960/,
    );
    expect(
      loadAuthServiceConfig({ ...production, REVOCATION_LOSS_WAIT_SECONDS: '960' }).REVOCATION_LOSS_WAIT_SECONDS,
    ).toBe(960);
    expect(loadAuthServiceConfig(production).REVOCATION_LOSS_WAIT_SECONDS).toBeUndefined();
  });
});
