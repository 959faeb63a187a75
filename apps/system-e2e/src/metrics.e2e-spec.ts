import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster } from '@jwt-ms/tools/cluster';
import { stopProcess, waitUntil, type ServiceName } from '@jwt-ms/testing';
import { POSTGRES_ADMIN_URL, REDIS_URL } from './support/stack';
import { call } from './support/http';

const PASSWORD = 'correct horse battery staple';
const ITEMS = { items: [{ sku: 'BOOK-1', quantity: 2, unitPriceCents: 1250 }] };
const SERVICES: ServiceName[] = ['auth-service', 'users-service', 'orders-service'];
/** Failed logins one account may have per window here: the journey's flood goes past it. */
const PER_ACCOUNT_LIMIT = 5;

type Sample = { metric: Record<string, string>; value: [number, string] };

/**
 * `GET /metrics` on every replica, scraped by a real Prometheus (Debian's
 * package) over the same cluster as `npm run cluster`: after a scripted
 * journey, PromQL finds every family with the labels docs/observability.md
 * promises, and none with a raw path.
 */
describe('metrics: a real Prometheus scrapes every replica of the cluster', () => {
  let cluster: Cluster;
  let dataDir: string;
  let prometheus: ChildProcess | undefined;
  let prometheusUrl = '';
  const lb = (service: ServiceName) => cluster.urls[service];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'jwtms-metrics-'));
    cluster = await startCluster({
      replicas: 2,
      dataDir,
      redisUrl: REDIS_URL,
      postgresAdminUrl: POSTGRES_ADMIN_URL,
      databasePrefix: `jwtms_test_metrics_${process.pid}`,
      freshDatabases: true,
      issuer: 'http://auth.metrics.test',
      env: {
        NODE_ENV: 'test',
        AUTH_RATE_LIMIT_PER_IP: '100000',
        AUTH_RATE_LIMIT_PER_ACCOUNT: String(PER_ACCOUNT_LIMIT),
        AUTH_TOKEN_RATE_LIMIT_PER_IP: '100000',
      },
      serviceEnv: {
        'orders-service': { USERS_SERVICE_TIMEOUT_MS: '15000' },
        'auth-service': { REFRESH_TOKEN_REUSE_GRACE_SECONDS: '0' },
      },
    });
    prometheusUrl = await startPrometheus();
  }, 180_000);

  afterAll(async () => {
    await stopProcess(prometheus);
    await cluster?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  /** Starts Prometheus on a port the kernel picks (read back from the socket table), scraping every replica each second. */
  async function startPrometheus(): Promise<string> {
    const jobs = SERVICES.map((service) => ({
      job_name: service,
      scrape_interval: '1s',
      scrape_timeout: '1s',
      static_configs: cluster.running(service).map((replica) => ({
        targets: [new URL(replica.url).host],
        labels: { replica: replica.id },
      })),
    }));
    const config = join(dataDir, 'prometheus.yml');
    // JSON is YAML: no YAML writer needed for a generated file.
    writeFileSync(config, JSON.stringify({ global: { scrape_interval: '1s' }, scrape_configs: jobs }));
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dataDir, 'tsdb')}`,
        '--web.listen-address=127.0.0.1:0',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const pid = prometheus.pid;
    let port = 0;
    await waitUntil(
      () => {
        const table = spawnSync('ss', ['-ltnpH'], { encoding: 'utf8' }).stdout;
        const line = table.split('\n').find((row) => row.includes(`pid=${pid},`));
        port = Number(line?.match(/127\.0\.0\.1:(\d+)/)?.[1] ?? 0);
        return port > 0;
      },
      'Prometheus listening',
      30_000,
    );
    const url = `http://127.0.0.1:${port}`;
    await waitUntil(
      async () => (await fetch(`${url}/-/ready`).catch(() => null))?.ok === true,
      'Prometheus ready',
      30_000,
    );
    return url;
  }

  async function query(promql: string): Promise<Sample[]> {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as { status: string; data?: { result: Sample[] }; error?: string };
    if (body.status !== 'success') throw new Error(`PromQL ${promql}: ${body.error}`);
    return body.data?.result ?? [];
  }

  /** Waits for `promql` to return a sample whose value satisfies `accept`, and returns the samples. */
  async function eventually(promql: string, accept: (value: number) => boolean = (v) => v > 0): Promise<Sample[]> {
    let samples: Sample[] = [];
    await waitUntil(
      async () => {
        samples = await query(promql);
        return samples.some((sample) => accept(Number(sample.value[1])));
      },
      promql,
      60_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last result: ${JSON.stringify(samples)}`);
    });
    return samples;
  }

  async function account(): Promise<{ email: string; access: string; refresh: string }> {
    const email = `metrics.${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}@example.test`;
    expect(
      (await call('POST', `${lb('auth-service')}/auth/register`, { body: { email, password: PASSWORD } })).status,
    ).toBe(201);
    const login = await call('POST', `${lb('auth-service')}/auth/login`, { body: { email, password: PASSWORD } });
    expect(login.status).toBe(200);
    return { email, access: login.body.access_token, refresh: login.body.refresh_token };
  }

  it('finds every family with its labels after a journey', async () => {
    const ada = await account();
    // Verified on every replica: a miss, then a hit of the verified-token cache on each.
    for (const service of ['users-service', 'orders-service'] as const) {
      for (const replica of cluster.running(service)) {
        for (let i = 0; i < 2; i += 1) {
          expect((await call('GET', `${replica.url}/whoami`, { token: ada.access })).status).toBe(200);
        }
      }
    }
    expect((await call('GET', `${lb('users-service')}/users/me`, { token: ada.access })).status).toBe(200);
    expect((await call('POST', `${lb('orders-service')}/orders`, { token: ada.access, body: ITEMS })).status).toBe(201);
    expect((await call('GET', `${lb('users-service')}/users/me`)).status).toBe(401);
    expect((await call('GET', `${lb('users-service')}/users/me`, { token: 'not.a.jwt' })).status).toBe(401);
    expect(
      (await call('GET', `${lb('users-service')}/no-such-route/8d9c1f44-9a51-4c7e-8f0e-1b2c3d4e5f60`)).status,
    ).toBe(404);
    // A refresh, then the old refresh token again: reuse, which revokes the session.
    const rotated = await call('POST', `${lb('auth-service')}/auth/refresh`, { body: { refresh_token: ada.refresh } });
    expect(rotated.status).toBe(200);
    // No grace window here (REFRESH_TOKEN_REUSE_GRACE_SECONDS=0): the old token again is reuse.
    const reused = await call('POST', `${lb('auth-service')}/auth/refresh`, { body: { refresh_token: ada.refresh } });
    expect(reused.status).toBe(400);
    const badGrant = await call('POST', `${lb('auth-service')}/oauth/token`, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: 'not-a-refresh-token',
        client_id: 'first-party-app',
      }).toString(),
    });
    expect(badGrant.status).toBe(400);
    // A logout: its revocation reaches every replica by the log's tail, which times it.
    const bob = await account();
    expect((await call('POST', `${lb('auth-service')}/auth/logout`, { token: bob.access })).status).toBe(204);
    for (const replica of cluster.running('users-service')) {
      await waitUntil(
        async () => (await call('GET', `${replica.url}/whoami`, { token: bob.access })).status === 401,
        `the logout on ${replica.id}`,
        10_000,
      );
    }
    // Wrong passwords for one account, past its limit: invalid_credentials, then 429s.
    for (let i = 0; i <= PER_ACCOUNT_LIMIT; i += 1) {
      await call('POST', `${lb('auth-service')}/auth/login`, {
        body: { email: ada.email, password: 'wrong password!' },
      });
    }
    expect(
      (
        await call('POST', `${lb('auth-service')}/auth/login`, {
          body: { email: ada.email, password: 'wrong password!' },
        })
      ).status,
    ).toBe(429);

    const resource = 'job=~"users-service|orders-service"';
    // HTTP: by route template, method and status.
    await eventually(
      'sum(http_server_request_duration_seconds_count{job="users-service",route="/users/me",method="GET",status_code="200"})',
    );
    await eventually(
      'sum(http_server_request_duration_seconds_count{job="orders-service",route="/orders",method="POST",status_code="201"})',
    );
    await eventually(
      'sum(http_server_request_duration_seconds_count{job="users-service",route="unmatched",status_code="404"})',
    );
    expect(await query('http_server_request_duration_seconds_count{route=~".*[0-9a-f]{8}-[0-9a-f]{4}.*"}')).toEqual([]);
    await eventually(
      'histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket[1m])))',
      (v) => v > 0,
    );
    // The verifier's decisions, by result and reason.
    await eventually(`sum(jwt_verifications_total{${resource},result="accepted",reason=""})`);
    await eventually(`sum(jwt_verifications_total{${resource},result="missing"})`);
    await eventually(`sum(jwt_verifications_total{${resource},result="rejected",reason="malformed"})`);
    await eventually(
      `sum(jwt_verifications_total{job="users-service",result="rejected",reason="revoked_session"})`,
      (v) => v >= 2,
    );
    // The cache, the keys, the revocation view: on every resource replica.
    const hits = await eventually(`jwt_verified_token_cache_lookups_total{${resource},result="hit"}`);
    expect(hits.length).toBe(4);
    await eventually(`sum(jwt_verified_token_cache_lookups_total{${resource},result="miss"})`);
    expect((await eventually(`jwks_fetches_total{${resource},outcome="success"}`)).length).toBe(4);
    expect((await eventually(`jwks_keys{${resource}}`, (v) => v >= 1)).length).toBe(4);
    const staleness = await eventually(`revocation_list_staleness_seconds{${resource}}`, (v) => v >= 0 && v < 5);
    expect(staleness.length).toBe(4);
    await eventually(`sum(revocation_list_entries{job="users-service"})`);
    const propagated = await eventually('revocation_propagation_delay_seconds_count{job="users-service"}');
    expect(propagated.length).toBe(2);
    // Every revocation of the journey took effect within the staleness bound on every replica.
    await eventually(
      'max(revocation_propagation_delay_seconds_bucket{job="users-service",le="2"} / ignoring(le) revocation_propagation_delay_seconds_count{job="users-service"})',
      (v) => v === 1,
    );
    // The issuer's own.
    await eventually('sum(auth_logins_total{outcome="success"})', (v) => v >= 2);
    await eventually('sum(auth_logins_total{outcome="invalid_credentials"})');
    await eventually('sum(auth_rate_limit_refusals_total{limiter="account"})');
    await eventually('sum(oauth_token_grants_total{grant_type="refresh_token",outcome="invalid_grant"})');
    await eventually('sum(auth_refresh_rotations_total)');
    await eventually('sum(auth_refresh_reuse_detected_total)', (v) => v === 1);
    await eventually('min(auth_signing_key_age_seconds)', (v) => v >= 0);
    await eventually('max(auth_signing_key_next_rotation_seconds)', (v) => v === -1);
    // Node's process metrics, on every replica of every service.
    expect((await eventually('process_cpu_seconds_total')).length).toBe(6);
    expect((await eventually('nodejs_heap_size_used_bytes')).length).toBe(6);
  }, 240_000);

  it('serves a text that promtool finds well formed on every service', async () => {
    for (const service of SERVICES) {
      const replica = cluster.running(service)[0];
      const response = await fetch(`${replica.url}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: await response.text(), encoding: 'utf8' });
      // prom-client's process metrics name three gauges `nodejs_active_*_total` (upstream's names, kept so that
      // the usual Node.js dashboards work); every family of ours must pass the lint.
      const problems = `${lint.stdout}${lint.stderr}`
        .split('\n')
        .filter((line) => line.trim() !== '' && !/^nodejs_active_(handles|requests|resources)_total /.test(line));
      expect({ service, problems }).toEqual({ service, problems: [] });
      expect(lint.error).toBeUndefined();
    }
  }, 60_000);
});
