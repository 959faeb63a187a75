/**
 * `npm run cluster [-- --replicas N] [-- --no-build]`: builds the services,
 * starts N replicas of each (default 3) behind HAProxy on this machine,
 * sharing Redis and PostgreSQL, prints where everything is, and stops it all
 * on Ctrl-C.
 *
 * Environment: AUTH_PORT (3000), USERS_PORT (3001), ORDERS_PORT (3002) for
 * the balancer; CLUSTER_INGRESS_PORT (8080) for the ingress (every API on one
 * address, routed by path); CLUSTER_STATS_PORT (8404) for HAProxy's stats page;
 * REDIS_URL (redis://127.0.0.1:6379); CLUSTER_POSTGRES_URL
 * (postgres://postgres@127.0.0.1:5432/postgres: databases <prefix>_auth,
 * _users and _orders are created there if missing; CLUSTER_DATABASE_PREFIX,
 * default jwtms_cluster, keeps two clusters apart). Every other variable is
 * passed to the replicas (e.g. AUTH_RATE_LIMIT_PER_IP for a load test).
 *
 * While it runs, data/cluster/state.json lists the replicas (id, URL, pid)
 * for tools that act on them (`npm run load -- replica-kill`).
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'redis';
import { Client } from 'pg';
import { ROOT, type ServiceName } from '@jwt-ms/testing';
import { haproxyVersion, startCluster, type Cluster } from './index';

const args = process.argv.slice(2);
const replicasArg = args.indexOf('--replicas');
const replicas = replicasArg >= 0 ? Number(args[replicasArg + 1]) : 3;
const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const postgresAdminUrl = process.env['CLUSTER_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

function fail(message: string): never {
  process.stderr.write(`✘ ${message}\n`);
  process.exit(1);
}

async function preflight(): Promise<void> {
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 16)
    fail('--replicas must be a whole number from 1 to 16');
  if (!haproxyVersion())
    fail('HAProxy is not installed: `apt-get install haproxy` (Debian/Ubuntu) or `brew install haproxy`');
  const redis = createClient({ url: redisUrl, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch {
    fail(`Redis does not answer at ${redisUrl}: start it (\`redis-server\`) or set REDIS_URL`);
  } finally {
    if (redis.isOpen) redis.destroy();
  }
  const pg = new Client({ connectionString: postgresAdminUrl, connectionTimeoutMillis: 3000 });
  try {
    await pg.connect();
  } catch {
    fail(
      `PostgreSQL does not answer at ${postgresAdminUrl}: the replicas share it; start it or set CLUSTER_POSTGRES_URL`,
    );
  } finally {
    await pg.end().catch(() => undefined);
  }
}

function build(): void {
  if (args.includes('--no-build')) return;
  process.stdout.write('Building auth-service, users-service, orders-service, console…\n');
  const result = spawnSync(
    'npx',
    ['nx', 'run-many', '-t', 'build', '-p', 'auth-service', 'users-service', 'orders-service', 'console'],
    { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false', NX_TUI: 'false' } },
  );
  if (result.status !== 0) fail('build failed; fix the errors above and run `npm run cluster` again');
}

/** Six requests through a balancer: the instance ids show the rotation. */
async function rotation(url: string): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < 2 * replicas; i += 1) {
    const response = await fetch(`${url}/health/live`);
    seen.push(response.headers.get('x-instance-id') ?? '?');
  }
  return seen;
}

const STATE_FILE = join(ROOT, 'data', 'cluster', 'state.json');

/** What other tools need to act on the running cluster. */
function writeState(cluster: Cluster): void {
  const state = {
    ingressUrl: cluster.ingressUrl,
    urls: cluster.urls,
    replicas: cluster.replicas
      .filter((r) => r.process.exitCode === null && r.process.signalCode === null)
      .map((r) => ({ id: r.id, service: r.name, url: r.url, pid: r.process.pid })),
  };
  writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
}

async function main(): Promise<void> {
  await preflight();
  build();
  const passThrough = Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
  const ports: Record<ServiceName, number> = {
    'auth-service': port('AUTH_PORT', 3000),
    'users-service': port('USERS_PORT', 3001),
    'orders-service': port('ORDERS_PORT', 3002),
  };
  process.stdout.write(`Starting ${replicas} replicas of each service behind ${haproxyVersion()}…\n`);
  let cluster: Cluster;
  try {
    cluster = await startCluster({
      replicas,
      ports,
      statsPort: port('CLUSTER_STATS_PORT', 8404),
      ingressPort: port('CLUSTER_INGRESS_PORT', 8080),
      dataDir: join(ROOT, 'data', 'cluster'),
      redisUrl,
      postgresAdminUrl,
      databasePrefix: process.env['CLUSTER_DATABASE_PREFIX'] || 'jwtms_cluster',
      issuer: process.env['AUTH_ISSUER'] ?? `http://localhost:${ports['auth-service']}`,
      env: passThrough,
      onLine: (id, line) => process.stdout.write(`[${id.padEnd(8)}] ${line}\n`),
    });
  } catch (error) {
    fail(`the cluster did not start: ${(error as Error).message}`);
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('stopping every replica and HAProxy…\n');
    rmSync(STATE_FILE, { force: true });
    await cluster.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  for (const replica of cluster.replicas) {
    replica.process.once('exit', (code, signal) => {
      if (stopping) return;
      process.stdout.write(
        `[${replica.id.padEnd(8)}] exited (${signal ?? `code ${code}`}); HAProxy takes it out of rotation, the others serve\n`,
      );
      writeState(cluster);
    });
  }
  // npm runs this under `sh -c`, which does not pass on a SIGTERM sent to npm: if our parent goes, stop too.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stop();
  }, 1000).unref();
  process.stdout.write('\nCluster ready (Ctrl-C stops it):\n');
  for (const [service, url] of Object.entries(cluster.urls) as Array<[ServiceName, string]>) {
    const ids = cluster
      .running(service)
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((r) => `${r.id} :${r.port}`);
    process.stdout.write(`  ${service.padEnd(15)} ${url}  → ${ids.join(', ')}\n`);
  }
  process.stdout.write(
    `  ingress         ${cluster.ingressUrl}  (/auth, /oauth, /.well-known → auth; /users → users; /orders → orders; / → console)\n`,
  );
  if (cluster.console)
    process.stdout.write(`  console         Open ${cluster.ingressUrl.replace('127.0.0.1', 'localhost')}/ (the token's journey)\n`);
  process.stdout.write(`  HAProxy stats   ${cluster.statsUrl}\n`);
  writeState(cluster);
  process.stdout.write(`  round-robin on users: ${(await rotation(cluster.urls['users-service'])).join(' → ')}\n`);
  process.stdout.write(
    `\nIn another terminal, \`AUTH_URL=${cluster.urls['auth-service']} USERS_URL=${cluster.urls['users-service']} ` +
      `ORDERS_URL=${cluster.urls['orders-service']} npm run demo\` walks the demo through the balancer.\n`,
  );
}

void main();
