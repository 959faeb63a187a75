import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';

/** The repository root (this file is apps/system-e2e/src/support/stack.ts). */
const ROOT = resolve(__dirname, '../../../..');
export type ServiceName = 'auth-service' | 'users-service' | 'orders-service';

/** Admin connection used only to create and drop the suite's own databases. */
const POSTGRES_ADMIN_URL = process.env['E2E_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
export const ISSUER = 'http://auth.e2e.test';
export const ADMIN = { email: 'admin@e2e.test', password: 'e2e-admin-password-not-secret' };

/** One running service process. */
export interface RunningService {
  name: ServiceName;
  url: string;
  process: ChildProcess;
  output: string[];
}

/** Three services started from their build output (dist/apps/*), as in production. */
export interface Stack {
  auth: string;
  users: string;
  orders: string;
  services: Record<ServiceName, RunningService>;
  /** Stops a service (SIGTERM) and waits for it to exit. */
  stop(name: ServiceName): Promise<void>;
  /** Stops everything and removes the databases and files the stack made. */
  close(): Promise<void>;
}

export type DatabaseKind = 'postgres' | 'sqlite';

/**
 * Starts auth, then users and orders (pointed at auth's JWKS), each on an
 * ephemeral port, each with its own fresh database.
 *
 * @param database PostgreSQL (fresh databases named `jwtms_test_*`, schemas from migrations) or SQLite in a temp dir
 * @param overrides extra environment per service
 */
export async function startStack(
  database: DatabaseKind,
  overrides: Partial<Record<ServiceName, Record<string, string>>> = {},
): Promise<Stack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jwtms-e2e-'));
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const databases: string[] = [];
  const databaseEnv = async (name: ServiceName): Promise<Record<string, string>> => {
    if (database === 'sqlite') return { SQLITE_PATH: join(dataDir, `${name}.sqlite`) };
    const db = `jwtms_test_${name.replace('-service', '')}_${suffix}`;
    await recreateDatabase(db);
    databases.push(db);
    const url = new URL(POSTGRES_ADMIN_URL);
    url.pathname = `/${db}`;
    return { DATABASE_URL: url.toString() };
  };
  const common = { NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', REDIS_URL, AUTH_ISSUER: ISSUER, NO_COLOR: '1' };
  const services: Partial<Record<ServiceName, RunningService>> = {};
  const stack: Stack = {
    auth: '',
    users: '',
    orders: '',
    services: services as Record<ServiceName, RunningService>,
    stop: async (name) => stopProcess(services[name]?.process),
    close: async () => {
      await Promise.all(Object.values(services).map((service) => stopProcess(service?.process)));
      for (const db of databases) await dropDatabase(db);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    services['auth-service'] = await launch('auth-service', {
      ...common,
      ...(await databaseEnv('auth-service')),
      DATA_DIR: join(dataDir, 'auth'),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      // Every test logs in from 127.0.0.1; the rate limits have their own test.
      AUTH_RATE_LIMIT_PER_IP: '100000',
      AUTH_RATE_LIMIT_PER_ACCOUNT: '100000',
      ...overrides['auth-service'],
    });
    stack.auth = services['auth-service'].url;
    const verifier = { AUTH_JWKS_URI: `${stack.auth}/.well-known/jwks.json` };
    const [users, orders] = await Promise.all([
      launch('users-service', {
        ...common,
        ...verifier,
        ...(await databaseEnv('users-service')),
        ...overrides['users-service'],
      }),
      launch('orders-service', {
        ...common,
        ...verifier,
        ...(await databaseEnv('orders-service')),
        ...overrides['orders-service'],
      }),
    ]);
    services['users-service'] = users;
    services['orders-service'] = orders;
    stack.users = users.url;
    stack.orders = orders.url;
    return stack;
  } catch (error) {
    await stack.close();
    throw error;
  }
}

/** Starts one built service and resolves with its URL once it listens. */
export function launch(name: ServiceName, env: Record<string, string>): Promise<RunningService> {
  const main = join(ROOT, 'dist/apps', name, 'main.js');
  const child = spawn(process.execPath, [main], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within 30 s:\n${output.join('')}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output.push(text);
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(text);
      if (match) {
        clearTimeout(timer);
        resolvePromise({ name, url: match[1], process: child, output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before listening:\n${output.join('')}`));
    });
  });
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Refuses any database whose name does not say it is for tests. */
function assertTestDatabase(name: string): void {
  if (!/^jwtms_test_[a-z0-9_]+$/.test(name))
    throw new Error(`refusing to touch database "${name}": not a test database`);
}

async function withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function recreateDatabase(name: string): Promise<void> {
  assertTestDatabase(name);
  await withAdmin(async (client) => {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  });
}

async function dropDatabase(name: string): Promise<void> {
  assertTestDatabase(name);
  await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}
