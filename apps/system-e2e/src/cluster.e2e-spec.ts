import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster, type Replica } from '@jwt-ms/tools/cluster';
import { POSTGRES_ADMIN_URL, REDIS_URL } from './support/stack';
import { call } from './support/http';
import { waitUntil, type ServiceName } from '@jwt-ms/testing';

const PASSWORD = 'correct horse battery staple';

/**
 * The horizontal-scaling claims, over a real multi-process cluster: three
 * replicas of each service, one Redis, one PostgreSQL, HAProxy round-robin
 * with no affinity in front (the same code as `npm run cluster`).
 */
describe('a cluster of 3 replicas per service behind a round-robin balancer', () => {
  let cluster: Cluster;
  let dataDir: string;
  const lb = (service: ServiceName) => cluster.urls[service];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'jwtms-cluster-'));
    cluster = await startCluster({
      replicas: 3,
      dataDir,
      redisUrl: REDIS_URL,
      postgresAdminUrl: POSTGRES_ADMIN_URL,
      databasePrefix: `jwtms_test_cluster_${process.pid}`,
      freshDatabases: true,
      issuer: 'http://auth.cluster.test',
      env: {
        NODE_ENV: 'test',
        AUTH_RATE_LIMIT_PER_IP: '100000',
        AUTH_RATE_LIMIT_PER_ACCOUNT: '100000',
        AUTH_TOKEN_RATE_LIMIT_PER_IP: '100000',
      },
      // A loaded CI machine can take seconds for the first exchange (argon2 of the client secret);
      // the bound itself is tested in orders-downstream.e2e-spec.
      serviceEnv: { 'orders-service': { USERS_SERVICE_TIMEOUT_MS: '15000' } },
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function login(): Promise<{ access_token: string; refresh_token: string; issuedBy: string }> {
    const email = `cluster.${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}@example.test`;
    expect(
      (await call('POST', `${lb('auth-service')}/auth/register`, { body: { email, password: PASSWORD } })).status,
    ).toBe(201);
    const response = await call('POST', `${lb('auth-service')}/auth/login`, { body: { email, password: PASSWORD } });
    expect(response.status).toBe(200);
    return { ...response.body, issuedBy: response.headers.get('x-instance-id') ?? '' };
  }

  const resourceReplicas = (): Replica[] => [...cluster.running('users-service'), ...cluster.running('orders-service')];

  it('spreads requests over every replica in turn: no affinity', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 9; i += 1) {
      seen.push((await fetch(`${lb('users-service')}/health/live`)).headers.get('x-instance-id') ?? '');
    }
    expect(new Set(seen)).toEqual(new Set(['users-1', 'users-2', 'users-3']));
    for (const id of new Set(seen)) expect(seen.filter((s) => s === id)).toHaveLength(3);
  });

  it('accepts a token issued by any auth replica on every users and orders replica', async () => {
    const issuers = new Set<string>();
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const tokens = await login();
      issuers.add(tokens.issuedBy);
      for (const replica of resourceReplicas()) {
        const response = await call('GET', `${replica.url}/whoami`, { token: tokens.access_token });
        expect({ replica: replica.id, status: response.status }).toEqual({ replica: replica.id, status: 200 });
        expect(response.body.instance).toBe(replica.id);
      }
    }
    expect(issuers.size).toBeGreaterThan(1); // the logins really went to different auth replicas
  });

  it("places orders on every orders replica, each calling users through its balancer on the customer's behalf", async () => {
    const tokens = await login();
    const named = await call('PATCH', `${lb('users-service')}/users/me`, {
      token: tokens.access_token,
      body: { displayName: 'Grace Hopper' },
    });
    expect(named.status).toBe(200);
    for (let round = 0; round < 2; round += 1) {
      for (const replica of cluster.running('orders-service')) {
        const placed = await call('POST', `${replica.url}/orders`, {
          token: tokens.access_token,
          body: { items: [{ sku: 'COBOL-1', quantity: 1, unitPriceCents: 1959 }] },
        });
        expect({ replica: replica.id, status: placed.status }).toEqual({ replica: replica.id, status: 201 });
        expect(placed.body.customerName).toBe('Grace Hopper');
      }
    }
    const listed = await call('GET', `${lb('orders-service')}/orders`, { token: tokens.access_token });
    expect(listed.body.total).toBe(6);
  });

  it('revokes an exchanged token with its session, on every users replica, within the same delay', async () => {
    const tokens = await login();
    const exchanged = await fetch(`${lb('auth-service')}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('orders-service:orders-service-dev-secret-not-for-production').toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: tokens.access_token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        audience: 'users-service',
        scope: 'profile:read',
      }),
    });
    expect(exchanged.status).toBe(200);
    const delegated = ((await exchanged.json()) as { access_token: string }).access_token;
    for (const replica of cluster.running('users-service')) {
      expect((await call('GET', `${replica.url}/users/me`, { token: delegated })).status).toBe(200);
    }
    expect((await call('POST', `${lb('auth-service')}/auth/logout`, { token: tokens.access_token })).status).toBe(204);
    const loggedOutAt = performance.now();
    const refusedAfter = await Promise.all(
      cluster.running('users-service').map(async (replica) => {
        for (;;) {
          const response = await call('GET', `${replica.url}/users/me`, { token: delegated });
          if (response.status === 401) {
            expect(response.body.reason).toBe('revoked_session');
            return performance.now() - loggedOutAt;
          }
          expect(response.status).toBe(200);
          if (performance.now() - loggedOutAt > 2000) throw new Error(`${replica.id} still accepts after 2 s`);
        }
      }),
    );
    expect(Math.max(...refusedAfter)).toBeLessThan(500);
  });

  it('enforces a logout made through one auth replica on every replica of every service, at once', async () => {
    const propagationMs: number[] = [];
    for (let round = 0; round < 10; round += 1) {
      const tokens = await login();
      const authReplica = cluster.running('auth-service')[round % 3];
      const loggedOut = await call('POST', `${authReplica.url}/auth/logout`, { token: tokens.access_token });
      expect(loggedOut.status).toBe(204);
      const loggedOutAt = performance.now();
      // Every replica, polled until it refuses: the time from the logout answer to the last refusal.
      const refusedAfter = await Promise.all(
        resourceReplicas().map(async (replica) => {
          for (;;) {
            const response = await call('GET', `${replica.url}/whoami`, { token: tokens.access_token });
            if (response.status === 401) return performance.now() - loggedOutAt;
            expect(response.status).toBe(200);
            if (performance.now() - loggedOutAt > 2000) throw new Error(`${replica.id} still accepts after 2 s`);
          }
        }),
      );
      propagationMs.push(Math.max(...refusedAfter));
      for (const replica of cluster.running('auth-service')) {
        const response = await call('POST', `${replica.url}/auth/logout`, { token: tokens.access_token });
        expect(response.status).toBe(401); // the issuer's replicas too
      }
    }
    // Pub/sub delivery: well inside the 50 ms goal on a quiet machine; the bound here leaves room for a loaded CI.
    expect(Math.max(...propagationMs)).toBeLessThan(500);
  }, 180_000);

  it('loses no request beyond those in flight when one replica of each service is killed mid-run', async () => {
    const tokens = await login();
    const results = { ok: 0, failed: 0 };
    const failures: string[] = [];
    let running = true;
    const CONCURRENCY = 4;
    const loop = async (service: ServiceName, path: string) => {
      while (running) {
        try {
          const response = await call('GET', `${lb(service)}${path}`, { token: tokens.access_token });
          if (response.status === 200) results.ok += 1;
          else {
            results.failed += 1;
            failures.push(`${service} ${response.status}`);
          }
        } catch (error) {
          results.failed += 1;
          failures.push(`${service} ${(error as Error).message}`);
        }
      }
    };
    const loops = [
      ...Array.from({ length: CONCURRENCY }, () => loop('users-service', '/users/me')),
      ...Array.from({ length: CONCURRENCY }, () => loop('orders-service', '/orders')),
      ...Array.from({ length: CONCURRENCY }, () => loop('auth-service', '/.well-known/jwks.json')),
    ];
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const okBeforeKill = results.ok;
    const victims = (['auth-service', 'users-service', 'orders-service'] as const).map(
      (service) => cluster.running(service)[1],
    );
    await Promise.all(victims.map((victim) => cluster.kill(victim, 'SIGKILL')));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    running = false;
    await Promise.all(loops);

    expect(okBeforeKill).toBeGreaterThan(0);
    expect(results.ok - okBeforeKill).toBeGreaterThan(100); // the survivors kept serving
    // At most the requests in flight on the three killed replicas (one per loop at a time).
    expect(results.failed).toBeLessThanOrEqual(CONCURRENCY);
    expect(failures.filter((f) => !/ (502|503|fetch failed)/.test(f))).toEqual([]);
    for (const service of ['auth-service', 'users-service', 'orders-service'] as const) {
      expect(cluster.running(service)).toHaveLength(2);
    }
  });

  it('serves valid tokens, and refuses revoked ones, from the first request of a replica started mid-run', async () => {
    const valid = await login();
    const revoked = await login();
    expect((await call('POST', `${lb('auth-service')}/auth/logout`, { token: revoked.access_token })).status).toBe(204);

    const fresh = await cluster.addReplica('users-service');

    const first = await call('GET', `${fresh.url}/whoami`, { token: valid.access_token });
    expect(first.status).toBe(200);
    expect(first.body.instance).toBe(fresh.id);
    expect((await call('GET', `${fresh.url}/whoami`, { token: revoked.access_token })).status).toBe(401);
    // And the balancer sends it traffic once its health check passes.
    let seen = false;
    for (let attempt = 0; attempt < 40 && !seen; attempt += 1) {
      const response = await call('GET', `${lb('users-service')}/whoami`, { token: valid.access_token });
      expect(response.status).toBe(200);
      seen = response.headers.get('x-instance-id') === fresh.id;
      if (!seen) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(seen).toBe(true);
  });
});

describe('a cluster that cannot start', () => {
  /** Listening TCP sockets this process holds (Node's resource names, a public API). */
  const listeningSockets = () => process.getActiveResourcesInfo().filter((name) => name === 'TCPServerWrap').length;

  it('stops what it started and leaves no listening socket behind', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'jwtms-cluster-'));
    const before = listeningSockets();
    try {
      await expect(
        startCluster({
          replicas: 1,
          dataDir,
          redisUrl: REDIS_URL,
          postgresAdminUrl: 'postgres://postgres@127.0.0.1:1/postgres', // nothing listens on port 1
          databasePrefix: `jwtms_test_nocluster_${process.pid}`,
        }),
      ).rejects.toThrow(/ECONNREFUSED/);
      // A closed server's handle goes once libuv has closed it, a turn or two of the event loop later.
      await waitUntil(() => listeningSockets() === before, 'the listening sockets closed', 5000);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
