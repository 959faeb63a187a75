import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Databases, launchService, stopProcess, type RunningService, type ServiceName } from '@jwt-ms/testing';

export { launchService as launch, type RunningService, type ServiceName };

/** Admin connection used only to create and drop the suite's own databases. */
export const POSTGRES_ADMIN_URL = process.env['E2E_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const databasesServer = new Databases(POSTGRES_ADMIN_URL);
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
export const ISSUER = 'http://auth.e2e.test';
export const ADMIN = { email: 'admin@e2e.test', password: 'e2e-admin-password-not-secret' };

/**
 * The environment every service under test starts with: test mode, loopback,
 * a port the kernel chooses, the suite's issuer and Redis.
 *
 * @param overrides more variables, or other values (e.g. another `REDIS_URL`)
 */
export function serviceTestEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    REDIS_URL,
    AUTH_ISSUER: ISSUER,
    NO_COLOR: '1',
    ...overrides,
  };
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
 * Starts auth, then users, then orders (pointed at auth's JWKS; orders at
 * users too), each on an ephemeral port, each with its own fresh database.
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
    await databasesServer.recreate(db);
    databases.push(db);
    return { DATABASE_URL: databasesServer.urlOf(db) };
  };
  const common = serviceTestEnv();
  const services: Partial<Record<ServiceName, RunningService>> = {};
  const stack: Stack = {
    auth: '',
    users: '',
    orders: '',
    services: services as Record<ServiceName, RunningService>,
    stop: async (name) => stopProcess(services[name]?.process),
    close: async () => {
      await Promise.all(Object.values(services).map((service) => stopProcess(service?.process)));
      for (const db of databases) await databasesServer.drop(db);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    services['auth-service'] = await launchService('auth-service', {
      ...common,
      ...(await databaseEnv('auth-service')),
      DATA_DIR: join(dataDir, 'auth'),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      // Every test logs in from 127.0.0.1; the rate limits have their own test.
      AUTH_RATE_LIMIT_PER_IP: '100000',
      AUTH_RATE_LIMIT_PER_ACCOUNT: '100000',
      AUTH_TOKEN_RATE_LIMIT_PER_IP: '100000',
      AUTH_TOKEN_RATE_LIMIT_PER_CLIENT: '100000',
      ...overrides['auth-service'],
    });
    stack.auth = services['auth-service'].url;
    const verifier = { AUTH_JWKS_URI: `${stack.auth}/.well-known/jwks.json` };
    // users first: orders calls it when an order is placed (USERS_SERVICE_URL), as in a cluster.
    const users = await launchService('users-service', {
      ...common,
      ...verifier,
      ...(await databaseEnv('users-service')),
      ...overrides['users-service'],
    });
    const orders = await launchService('orders-service', {
      ...common,
      ...verifier,
      USERS_SERVICE_URL: users.url,
      // A loaded CI machine can take seconds for the first exchange (argon2 of the client secret);
      // the bound itself is tested in orders-downstream.e2e-spec.
      USERS_SERVICE_TIMEOUT_MS: '15000',
      ...(await databaseEnv('orders-service')),
      ...overrides['orders-service'],
    });
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
