/**
 * Order placement with orders-service's call to users-service on the
 * customer's behalf (RFC 8693 exchange, cached per subject token, then
 * `GET /users/me`), against the same build with the call off
 * (`CUSTOMER_NAMES=off`): the real auth, users and orders builds, real Redis,
 * embedded SQLite, measured alternately in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchService, stopProcess, type RunningService } from '@jwt-ms/testing';
import { medianLoad, runLoad, type LoadFigures } from './http-load';

/** What the section measured: the median run of each, and their ratio. */
export interface DownstreamFigures {
  withCall: LoadFigures;
  withoutCall: LoadFigures;
  /** withCall / withoutCall requests per second (the goal: at least 0.7). */
  ratio: number;
}

interface Options {
  /** Seconds per load run. */
  seconds: number;
  /** Alternating rounds; each figure is the median run. */
  rounds: number;
  connections: number;
  /** Distinct customers (subject tokens) the orders are spread over. */
  customers: number;
  redisUrl: string;
  log: (line: string) => void;
}

const ORDER = JSON.stringify({ items: [{ sku: 'BENCH-1', quantity: 1, unitPriceCents: 100 }] });

/**
 * Starts auth, users and two orders processes (call on, call off), logs in
 * `customers` users, primes each one's exchange, then loads `POST /orders`
 * on each orders process in turn, `rounds` times.
 *
 * @throws Error when a service does not start, a request of the set-up fails, or the load generator fails
 */
export async function benchDownstream(options: Options): Promise<DownstreamFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jwtms-bench-downstream-'));
  const started: RunningService[] = [];
  const common = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    NO_COLOR: '1',
    REDIS_URL: options.redisUrl,
    AUTH_ISSUER: 'http://auth.bench.test',
  };
  const launch = async (name: RunningService['name'], env: Record<string, string>) => {
    const service = await launchService(name as 'auth-service', { ...common, ...env });
    started.push(service);
    return service;
  };
  try {
    const auth = await launch('auth-service', {
      SQLITE_PATH: join(dataDir, 'auth.sqlite'),
      DATA_DIR: join(dataDir, 'auth'),
      AUTH_RATE_LIMIT_PER_IP: '1000000',
      AUTH_RATE_LIMIT_PER_ACCOUNT: '1000000',
      AUTH_TOKEN_RATE_LIMIT_PER_IP: '1000000',
      AUTH_TOKEN_RATE_LIMIT_PER_CLIENT: '1000000',
    });
    const verifier = { AUTH_JWKS_URI: `${auth.url}/.well-known/jwks.json` };
    const users = await launch('users-service', { ...verifier, SQLITE_PATH: join(dataDir, 'users.sqlite') });
    const withCall = await launch('orders-service', {
      ...verifier,
      SQLITE_PATH: join(dataDir, 'orders-call.sqlite'),
      USERS_SERVICE_URL: users.url,
    });
    const withoutCall = await launch('orders-service', {
      ...verifier,
      SQLITE_PATH: join(dataDir, 'orders-off.sqlite'),
      CUSTOMER_NAMES: 'off',
    });
    const tokens: string[] = [];
    for (let index = 0; index < options.customers; index += 1) {
      const credentials = {
        email: `bench.${process.pid}.${index}@example.test`,
        password: 'correct horse battery staple',
      };
      await send('POST', `${auth.url}/auth/register`, undefined, credentials, 201);
      const login = (await send('POST', `${auth.url}/auth/login`, undefined, credentials, 200)) as {
        access_token: string;
      };
      await send('PATCH', `${users.url}/users/me`, login.access_token, { displayName: `Customer ${index}` }, 200);
      // Primes the exchange cache: the measured runs pay the users call, and an exchange only when one expires.
      const order = (await send('POST', `${withCall.url}/orders`, login.access_token, JSON.parse(ORDER), 201)) as {
        customerName: string;
      };
      if (order.customerName !== `Customer ${index}`) throw new Error('the order did not carry the customer name');
      tokens.push(login.access_token);
    }
    const loadOf = (service: RunningService) => ({
      url: `${service.url}/orders`,
      json: ORDER,
      tokens,
      connections: options.connections,
      scratchDir: dataDir,
    });
    // Warm-up (JIT, connections), then without and with the call alternately.
    await runLoad({ ...loadOf(withCall), seconds: 1 });
    await runLoad({ ...loadOf(withoutCall), seconds: 1 });
    const runs = { withCall: [] as LoadFigures[], withoutCall: [] as LoadFigures[] };
    for (let round = 0; round < options.rounds; round += 1) {
      runs.withoutCall.push(await runLoad({ ...loadOf(withoutCall), seconds: options.seconds }));
      runs.withCall.push(await runLoad({ ...loadOf(withCall), seconds: options.seconds }));
    }
    const figures: DownstreamFigures = {
      withCall: medianLoad(runs.withCall),
      withoutCall: medianLoad(runs.withoutCall),
      ratio: 0,
    };
    figures.ratio = figures.withCall.requestsPerSecond / figures.withoutCall.requestsPerSecond;
    const fmt = (f: LoadFigures) =>
      `${f.requestsPerSecond.toFixed(0)} orders/s (p50 ${f.p50Ms.toFixed(1)} ms, p99 ${f.p99Ms.toFixed(1)} ms, non-2xx ${f.non2xx})`;
    options.log(`  without the call (CUSTOMER_NAMES=off): ${fmt(figures.withoutCall)}`);
    options.log(`  with the call (cached exchange + GET /users/me): ${fmt(figures.withCall)}`);
    options.log(
      `  ratio ${figures.ratio.toFixed(2)} over ${options.customers} customers, each one's exchange made before the runs ` +
        `and cached (${'exchanged tokens live 300 s'})`,
    );
    return figures;
  } finally {
    await Promise.all(started.map((service) => stopProcess(service.process)));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function send(method: string, url: string, token: string | undefined, body: unknown, expected: number) {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== expected)
    throw new Error(`${method} ${url} answered ${response.status}: ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : null;
}
