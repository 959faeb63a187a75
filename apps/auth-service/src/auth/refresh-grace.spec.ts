import { createHash, randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { TokenResponse } from '@jwt-ms/contracts';
import { establishRevocationList, testPrincipal } from '@jwt-ms/auth-jwt/testing';
import { PrivateRedis, waitUntil } from '@jwt-ms/testing';
import {
  ProblemException,
  createRedisClient,
  databaseOptions,
  schemaSql,
  type RedisClient,
} from '@jwt-ms/service-core';
import { loadAuthServiceConfig, type AuthServiceConfig } from '../auth-service.config';
import { Account } from '../accounts/account.entity';
import { AccountsService } from '../accounts/accounts.service';
import { generateSigningJwk } from '../keys/signing-jwk';
import { SigningKeys } from '../keys/signing-key-set';
import { AuthSchema1764480000000 } from '../migrations/1764480000000-auth-schema';
import { RefreshFamilyLifetime1764490000000 } from '../migrations/1764490000000-refresh-family-lifetime';
import { CanonicalEmails1764500000000 } from '../migrations/1764500000000-canonical-emails';
import { RevocationGenerations1764510000000 } from '../migrations/1764510000000-revocation-generations';
import { RefreshTokenSuccessor1764520000000 } from '../migrations/1764520000000-refresh-token-successor';
import { RevocationGenerationRecord } from '../revocation/revocation-generation.entity';
import { RevocationStore } from '../revocation/revocation.store';
import { AccessTokenIssuer } from '../tokens/access-token.issuer';
import { REFRESH_GRACE_KEY_PREFIX, RefreshGrace } from '../tokens/refresh-grace';
import { RefreshToken } from '../tokens/refresh-token.entity';
import { RefreshTokensService } from '../tokens/refresh-tokens.service';
import { loadClientRegistry } from '../oauth/clients/client-registry';
import { AuthService } from './auth.service';

const PASSWORD = 'correct horse battery staple';
/** Real PostgreSQL: `E2E_POSTGRES_URL`, else postgres@127.0.0.1:5432. */
const ADMIN_URL = process.env['E2E_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ENTITIES = [Account, RefreshToken, RevocationGenerationRecord];
const MIGRATIONS = [
  AuthSchema1764480000000,
  RefreshFamilyLifetime1764490000000,
  CanonicalEmails1764500000000,
  RevocationGenerations1764510000000,
  RefreshTokenSuccessor1764520000000,
];

// argon2id per login and real databases on a busy 2-core machine.
jest.setTimeout(120_000);

/** One auth replica: its own Redis connection, database connection and services; the clock is the test's. */
interface Replica {
  auth: AuthService;
  refreshTokens: RefreshTokensService;
  grace: RefreshGrace;
}

/** The refusal a settled operation ended with: its status and code, or `ok`. */
async function outcome(operation: Promise<unknown>): Promise<string> {
  try {
    await operation;
    return 'ok';
  } catch (error) {
    if (error instanceof ProblemException) return `${error.getStatus()} ${error.code}`;
    throw error;
  }
}

/** Holds the next call of `target[method]` until `release()`; then the real method runs (not a mock). */
function holdNextCall<T extends object>(
  target: T,
  method: keyof T & string,
): { reached: Promise<void>; release(): void } {
  const original = target[method] as (...args: unknown[]) => Promise<unknown>;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let arrived!: () => void;
  const reached = new Promise<void>((resolve) => (arrived = resolve));
  (target as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    (target as Record<string, unknown>)[method] = original;
    arrived();
    await released;
    return original.apply(target, args);
  };
  return { reached, release };
}

describe.each(['sqlite', 'postgres'] as const)(
  'refresh grace window (%s, private Redis, two replicas): two tabs, one refresh',
  (kind) => {
    const redis = new PrivateRedis();
    const clients: RedisClient[] = [];
    const sources: DataSource[] = [];
    const admin = new Client({ connectionString: ADMIN_URL });
    const databaseName = `jwtms_test_grace_${randomUUID().slice(0, 8)}`;
    let databaseUrl = '';
    let config: AuthServiceConfig;
    let keys: SigningKeys;
    let accounts: AccountsService;
    let store: RevocationStore;
    let replicas: [Replica, Replica];
    let run = 0;
    /** The sessions' clock, shared by both replicas: real time plus what a test adds. */
    let offsetMs = 0;
    const clock = () => Date.now() + offsetMs;
    const windowMs = 5000;

    async function redisClient(): Promise<RedisClient> {
      const created = createRedisClient(redis.url);
      clients.push(created);
      if (!created.isReady) await new Promise((resolve) => created.once('ready', resolve));
      return created;
    }

    async function dataSource(): Promise<DataSource> {
      const source = await new DataSource(
        kind === 'sqlite'
          ? databaseOptions({ sqlitePath: ':memory:', entities: ENTITIES, migrations: [] })
          : { type: 'postgres', url: databaseUrl, entities: ENTITIES, migrations: MIGRATIONS },
      ).initialize();
      sources.push(source);
      return source;
    }

    async function replica(source: DataSource): Promise<Replica> {
      const client = await redisClient();
      const refreshTokens = new RefreshTokensService(source.getRepository(RefreshToken), config, clock);
      const grace = new RefreshGrace(client, config);
      const auth = new AuthService(
        new AccountsService(source.getRepository(Account)),
        new AccessTokenIssuer(keys, config),
        refreshTokens,
        new RevocationStore(client, null),
        loadClientRegistry(config),
        grace,
        config,
        clock,
      );
      return { auth, refreshTokens, grace };
    }

    beforeAll(async () => {
      jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
      jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      await redis.start();
      const client = await redisClient();
      await establishRevocationList(client);
      store = new RevocationStore(client, null);
      config = loadAuthServiceConfig({ DATA_DIR: '/nonexistent', REFRESH_TOKEN_REUSE_GRACE_SECONDS: '5' });
      keys = new SigningKeys({ keys: [generateSigningJwk(config.SIGNING_ALGORITHM)] }, config.SIGNING_ALGORITHM);
      let first: DataSource;
      let second: DataSource;
      if (kind === 'sqlite') {
        // One in-memory database: both replicas share its connection.
        first = await dataSource();
        second = first;
      } else {
        await admin.connect();
        await admin.query(`CREATE DATABASE "${databaseName}"`);
        const url = new URL(ADMIN_URL);
        url.pathname = `/${databaseName}`;
        databaseUrl = url.toString();
        first = await dataSource();
        await first.runMigrations();
        second = await dataSource(); // a connection pool of its own, as another replica has
      }
      accounts = new AccountsService(first.getRepository(Account));
      replicas = [await replica(first), await replica(second)];
    }, 60_000);

    afterAll(async () => {
      for (const client of clients) if (client.isOpen) client.destroy();
      for (const source of new Set(sources)) await source.destroy();
      if (kind === 'postgres') {
        await admin.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
        await admin.end();
      }
      await redis.stop();
      jest.restoreAllMocks();
    }, 60_000);

    afterEach(() => {
      offsetMs = 0;
    });

    /** A new account, logged in once through the first replica. */
    async function signedIn(): Promise<TokenResponse> {
      run += 1;
      const email = `grace.${kind}.${run}.${Date.now().toString(36)}@example.test`;
      await accounts.register(email, PASSWORD);
      return replicas[0].auth.login(email, PASSWORD);
    }

    /** Why every verifier refuses this access token, or null: it is live. */
    function revocationOf(accessToken: string): Promise<string | null> {
      const claims = decodeJwt(accessToken);
      return store.check({
        jti: String(claims.jti),
        sid: String(claims['sid']),
        sub: String(claims.sub),
        authTime: Number(claims['auth_time']),
      });
    }

    /** The session is alive: its access token is not revoked and its refresh token rotates. */
    async function expectAlive(pair: TokenResponse): Promise<void> {
      expect(await revocationOf(pair.access_token)).toBeNull();
      const next = await replicas[1].auth.refresh(pair.refresh_token);
      expect(await revocationOf(next.access_token)).toBeNull();
    }

    /** The whole session is revoked: every access token in Redis, the newest refresh token refused. */
    async function expectDead(pairs: TokenResponse[], newestRefreshToken: string): Promise<void> {
      for (const pair of pairs) expect(await revocationOf(pair.access_token)).toBe('session revoked');
      expect(await outcome(replicas[0].auth.refresh(newestRefreshToken))).toBe('400 invalid_grant');
    }

    if (kind === 'postgres') {
      it('builds, by its migrations, exactly the schema of the entities (the successor column included)', async () => {
        expect((await schemaSql(ENTITIES, databaseUrl)).up).toEqual([]);
      });
    }

    it('answers two concurrent refreshes with one token, on two replicas, with the same pair, and the session lives', async () => {
      for (let trial = 0; trial < 5; trial += 1) {
        const login = await signedIn();
        const answers = await Promise.all([
          replicas[0].auth.refresh(login.refresh_token),
          replicas[1].auth.refresh(login.refresh_token),
          replicas[trial % 2].auth.refresh(login.refresh_token),
        ]);
        expect(answers[1]).toEqual(answers[0]);
        expect(answers[2]).toEqual(answers[0]);
        expect(answers[0].refresh_token).not.toBe(login.refresh_token);
        expect(await revocationOf(login.access_token)).toBeNull();
        await expectAlive(answers[0]);
      }
    });

    it('makes a use that arrives while the first is still issuing wait for its answer, then gives it the same pair', async () => {
      const login = await signedIn();
      // The first use has consumed the token and signed its pair, but not yet left its answer in Redis.
      const hold = holdNextCall(replicas[0].grace, 'remember');
      const first = replicas[0].auth.refresh(login.refresh_token);
      await hold.reached;
      let polls = 0;
      const recall = replicas[1].grace.recall.bind(replicas[1].grace);
      replicas[1].grace.recall = (token) => ((polls += 1), recall(token));
      let settled = false;
      const second = replicas[1].auth.refresh(login.refresh_token).finally(() => (settled = true));
      try {
        await waitUntil(() => polls >= 3, 'the second use to poll for the first use’s answer');
        expect(settled).toBe(false);
      } finally {
        hold.release();
      }
      const [a, b] = await Promise.all([first, second]);
      replicas[1].grace.recall = recall;
      expect(b).toEqual(a);
      await expectAlive(a);
    });

    it('keeps only ciphertext in Redis: a JWE (dir, A256GCM) that holds neither token in the clear', async () => {
      const login = await signedIn();
      const pair = await replicas[0].auth.refresh(login.refresh_token);
      const key = REFRESH_GRACE_KEY_PREFIX + createHash('sha256').update(login.refresh_token).digest('hex');
      const stored = String(await clients[0].get(key));
      expect(stored.split('.')).toHaveLength(5);
      expect(decodeProtectedHeader(stored)).toEqual({ alg: 'dir', enc: 'A256GCM' });
      for (const secret of [pair.access_token, pair.refresh_token, login.refresh_token]) {
        expect(stored).not.toContain(secret);
        expect(Buffer.from(stored.split('.')[3], 'base64url').toString('latin1')).not.toContain(secret.slice(0, 16));
      }
      const ttl = await clients[0].pTTL(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(windowMs);
    });

    it('revokes the session for a use after the window', async () => {
      const login = await signedIn();
      const pair = await replicas[0].auth.refresh(login.refresh_token);
      offsetMs = windowMs - 200;
      expect(await replicas[1].auth.refresh(login.refresh_token)).toEqual(pair); // still within
      offsetMs = windowMs + 1;
      expect(await outcome(replicas[1].auth.refresh(login.refresh_token))).toBe('400 invalid_grant');
      await expectDead([login, pair], pair.refresh_token);
    });

    it('revokes the session when the grandparent comes back after the child rotated, even within the window', async () => {
      const login = await signedIn();
      const child = await replicas[0].auth.refresh(login.refresh_token);
      const grandchild = await replicas[1].auth.refresh(child.refresh_token);
      // The child's parent window is the child's: only the newest token's parent gets the pair again.
      expect(await replicas[0].auth.refresh(child.refresh_token)).toEqual(grandchild);
      expect(await outcome(replicas[0].auth.refresh(login.refresh_token))).toBe('400 invalid_grant');
      await expectDead([login, child, grandchild], grandchild.refresh_token);
    });

    it('refuses the parent with invalid_grant once its successor was revoked (logout)', async () => {
      const login = await signedIn();
      const pair = await replicas[0].auth.refresh(login.refresh_token);
      const claims = decodeJwt(pair.access_token);
      await replicas[0].auth.logout(
        testPrincipal({ subject: String(claims.sub), sessionId: String(claims['sid']), tokenId: String(claims.jti) }),
      );
      expect(await outcome(replicas[1].auth.refresh(login.refresh_token))).toBe('400 invalid_grant');
      await expectDead([login, pair], pair.refresh_token);
    });

    it('refuses the parent with invalid_grant once the account is gone', async () => {
      const login = await signedIn();
      const pair = await replicas[0].auth.refresh(login.refresh_token);
      await replicas[0].auth.deleteAccount(String(decodeJwt(pair.access_token).sub));
      expect(await outcome(replicas[1].auth.refresh(login.refresh_token))).toBe('400 invalid_grant');
    });

    it('answers 503, never a revocation, when Redis cannot be reached for a second use', async () => {
      const login = await signedIn();
      const pair = await replicas[0].auth.refresh(login.refresh_token);
      redis.pause();
      try {
        expect(await outcome(replicas[1].auth.refresh(login.refresh_token))).toBe('503 dependency_unavailable');
      } finally {
        redis.resume();
      }
      expect(await replicas[1].auth.refresh(login.refresh_token)).toEqual(pair);
      await expectAlive(pair);
    });

    it('gives the token back when the answer cannot be left in Redis: the retry rotates it, the lost pair is void', async () => {
      const login = await signedIn();
      const hold = holdNextCall(replicas[0].grace, 'remember');
      const first = outcome(replicas[0].auth.refresh(login.refresh_token));
      await hold.reached;
      redis.pause();
      try {
        hold.release();
        expect(await first).toBe('503 dependency_unavailable');
      } finally {
        redis.resume();
      }
      const retried = await replicas[1].auth.refresh(login.refresh_token);
      await expectAlive(retried);
    });
  },
);
