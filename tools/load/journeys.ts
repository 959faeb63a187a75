/**
 * The load journeys of `npm run load`, the same ones as the k6 scripts in
 * load/scenarios/, expressed for autocannon: each one prepares its accounts
 * and tokens, gives autocannon a request pipeline (run in a loop by every
 * connection, `context` carrying a connection's state between steps), may act
 * once mid-run (rotate keys, kill a replica), and states its pass/fail
 * contract (thresholds).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Request } from 'autocannon';

/** Shared by all journeys: the base URL (one address routing every API by path) and a run id. */
export interface JourneyContext {
  baseUrl: string;
  runId: string;
  /** Requests in flight at most: the number of connections. */
  connections: number;
  log: (line: string) => void;
}

/** What a journey gives the runner. */
export interface PreparedJourney {
  requests: Request[];
  /** Once, at a third of the run. */
  midway?: () => Promise<void>;
  /** Counts of the journey's own failed expectations (e.g. a revoked token accepted); each must stay 0 unless noted. */
  violations: Record<string, number>;
  /**
   * The pass/fail contract, given the status counts: a list of broken
   * thresholds (empty: passed).
   */
  thresholds: (statuses: Record<string, number>, errors: number) => string[];
}

export interface Journey {
  description: string;
  /** Default connections, when not 16: argon2id makes a login cost tens of milliseconds of CPU. */
  connections?: number;
  prepare(context: JourneyContext): Promise<PreparedJourney>;
}

const PASSWORD = 'load-test passphrase, not a secret';
const ORDER = JSON.stringify({ items: [{ sku: 'PEN-7', quantity: 2, unitPriceCents: 899 }] });
const JSON_HEADERS = { 'content-type': 'application/json' };

/** A connection's state between the steps of a pipeline (autocannon's `context`). */
type State = Record<string, string | undefined>;
const stateOf = (context: object) => context as State;

async function api(context: JourneyContext, method: string, path: string, body?: unknown, token?: string) {
  const response = await fetch(`${context.baseUrl}${path}`, {
    method,
    headers: { ...(body ? JSON_HEADERS : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Registers `count` accounts for this run; returns their credentials. */
async function accounts(context: JourneyContext, count: number, label: string) {
  const created: Array<{ email: string; password: string }> = [];
  for (let index = 0; index < count; index += 1) {
    const credentials = { email: `load.${label}.${context.runId}.${index}@example.test`, password: PASSWORD };
    const response = await api(context, 'POST', '/auth/register', credentials);
    if (response.status !== 201)
      throw new Error(`register answered ${response.status}: ${JSON.stringify(response.body)}`);
    created.push(credentials);
  }
  return created;
}

async function login(context: JourneyContext, credentials: { email: string; password: string }): Promise<string> {
  const response = await api(context, 'POST', '/auth/login', credentials);
  if (response.status !== 200) {
    throw new Error(
      `login answered ${response.status}${response.status === 429 ? ' (rate limited: start the system with AUTH_RATE_LIMIT_PER_IP, AUTH_RATE_LIMIT_PER_ACCOUNT and AUTH_TOKEN_RATE_LIMIT_PER_IP raised)' : ''}`,
    );
  }
  return response.body['access_token'] as string;
}

const bearer = (token: string | undefined) => ({ authorization: `Bearer ${token ?? ''}` });

/** Statuses outside `allowed`, as broken-threshold messages. */
function only(allowed: number[]) {
  return (statuses: Record<string, number>, errors: number): string[] => {
    const broken = Object.entries(statuses)
      .filter(([status, count]) => count > 0 && !allowed.includes(Number(status)))
      .map(([status, count]) => `${count} × ${status} (allowed: ${allowed.join(', ')})`);
    if (errors > 0) broken.push(`${errors} connection errors or timeouts`);
    return broken;
  };
}

/** A pool of valid tokens, handed to connections round-robin. */
async function tokenPool(context: JourneyContext, users: number, label: string, ordersEach = 0): Promise<string[]> {
  const tokens: string[] = [];
  for (const credentials of await accounts(context, users, label)) {
    const token = await login(context, credentials);
    for (let i = 0; i < ordersEach; i += 1) await api(context, 'POST', '/orders', JSON.parse(ORDER), token);
    tokens.push(token);
  }
  return tokens;
}

function roundRobin(tokens: string[]): () => string {
  let next = 0;
  return () => tokens[(next = (next + 1) % tokens.length)];
}

/** `POST /auth/login` with the accounts' credentials in turn. */
function loginRequest(users: Array<{ email: string; password: string }>): Request {
  let next = 0;
  return {
    method: 'POST',
    path: '/auth/login',
    headers: JSON_HEADERS,
    setupRequest: (request) => ({ ...request, body: JSON.stringify(users[(next = (next + 1) % users.length)]) }),
  };
}

/** Whether `pid` runs the build of `service` (Linux /proc; elsewhere: whether it runs at all). */
function isReplica(pid: number, service: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`dist/apps/${service}/main.js`);
  } catch {
    try {
      process.kill(pid, 0);
      return process.platform !== 'linux';
    } catch {
      return false;
    }
  }
}

export const JOURNEYS: Record<string, Journey> = {
  'login-storm': {
    connections: 4,
    description: 'POST /auth/login over and over for 50 accounts: argon2id and token signing under load',
    async prepare(context) {
      const users = await accounts(context, 50, 'storm');
      return {
        requests: [loginRequest(users)],
        violations: {},
        thresholds: only([200]),
      };
    },
  },

  'read-orders': {
    description: 'GET /orders with 20 valid tokens in turn: the read-heavy hot path (verification + revocation check)',
    async prepare(context) {
      const nextToken = roundRobin(await tokenPool(context, 20, 'read', 3));
      return {
        requests: [
          {
            method: 'GET',
            path: '/orders?limit=20',
            setupRequest: (request) => ({ ...request, headers: bearer(nextToken()) }),
          },
        ],
        violations: {},
        thresholds: only([200]),
      };
    },
  },

  'mixed-orders': {
    description: 'per connection: POST /orders, GET /orders/{id}, GET /users/me (writes and reads, two services)',
    async prepare(context) {
      const nextToken = roundRobin(await tokenPool(context, 20, 'mixed'));
      return {
        requests: [
          {
            method: 'POST',
            path: '/orders',
            body: ORDER,
            setupRequest: (request, context) => {
              stateOf(context)['token'] ??= nextToken();
              return { ...request, headers: { ...JSON_HEADERS, ...bearer(stateOf(context)['token']) } };
            },
            onResponse: (status, body, context) => {
              stateOf(context)['order'] = status === 201 ? (JSON.parse(body) as { id: string }).id : undefined;
            },
          },
          {
            method: 'GET',
            setupRequest: (request, context) =>
              ({
                ...request,
                path: `/orders/${stateOf(context)['order'] ?? 'missing'}`,
                headers: bearer(stateOf(context)['token']),
              }) as Request,
          },
          {
            method: 'GET',
            path: '/users/me',
            setupRequest: (request, context) => ({ ...request, headers: bearer(stateOf(context)['token']) }),
          },
        ],
        violations: {},
        thresholds: only([200, 201]),
      };
    },
  },

  'logout-reuse': {
    connections: 4,
    description:
      'per connection: log in, read, log out, read again with the same token: the last read must be 401 on every replica',
    async prepare(context) {
      const users = await accounts(context, 20, 'reuse');
      const violations = { 'revoked token accepted': 0 };
      return {
        requests: [
          {
            ...loginRequest(users),
            onResponse: (status, body, context) => {
              stateOf(context)['token'] =
                status === 200 ? (JSON.parse(body) as { access_token: string }).access_token : undefined;
            },
          },
          {
            method: 'GET',
            path: '/orders',
            setupRequest: (request, context) => ({ ...request, headers: bearer(stateOf(context)['token']) }),
          },
          {
            method: 'POST',
            path: '/auth/logout',
            setupRequest: (request, context) => ({ ...request, headers: bearer(stateOf(context)['token']) }),
          },
          {
            method: 'GET',
            path: '/orders',
            setupRequest: (request, context) => ({ ...request, headers: bearer(stateOf(context)['token']) }),
            onResponse: (status, _body, context) => {
              if (stateOf(context)['token'] && status === 200) violations['revoked token accepted'] += 1;
            },
          },
        ],
        violations,
        // 401 is the expected answer to the reuse; anything else but success is a failure.
        thresholds: only([200, 204, 401]),
      };
    },
  },

  'key-rotation': {
    description: 'GET /orders with valid tokens while an admin rotates the signing keys mid-run: no request may fail',
    async prepare(context) {
      const email = process.env['ADMIN_EMAIL'];
      const password = process.env['ADMIN_PASSWORD'];
      if (!email || !password) {
        throw new Error(
          'key-rotation needs the admin account the system was started with: set ADMIN_EMAIL and ADMIN_PASSWORD here too',
        );
      }
      const nextToken = roundRobin(await tokenPool(context, 20, 'rotation'));
      const adminToken = await login(context, { email, password });
      return {
        requests: [
          { method: 'GET', path: '/orders', setupRequest: (request) => ({ ...request, headers: bearer(nextToken()) }) },
        ],
        midway: async () => {
          const rotated = await api(context, 'POST', '/auth/admin/keys/rotate', undefined, adminToken);
          if (rotated.status >= 300) throw new Error(`key rotation answered ${rotated.status}`);
          context.log(`  mid-run: signing keys rotated (${JSON.stringify(rotated.body)})`);
        },
        violations: {},
        thresholds: only([200]),
      };
    },
  },

  'replica-kill': {
    description:
      'GET /orders and /users/me through the balancer while one orders and one users replica are killed (SIGKILL) mid-run',
    async prepare(context) {
      const stateFile = join(__dirname, '../../data/cluster/state.json');
      let state: { replicas: Array<{ id: string; service: string; pid: number }> };
      try {
        state = JSON.parse(readFileSync(stateFile, 'utf8'));
      } catch {
        throw new Error(
          'replica-kill acts on the local cluster: start `npm run cluster` first (it writes data/cluster/state.json)',
        );
      }
      const nextToken = roundRobin(await tokenPool(context, 20, 'kill'));
      return {
        requests: [
          { method: 'GET', path: '/orders', setupRequest: (request) => ({ ...request, headers: bearer(nextToken()) }) },
          {
            method: 'GET',
            path: '/users/me',
            setupRequest: (request) => ({ ...request, headers: bearer(nextToken()) }),
          },
        ],
        midway: async () => {
          let killed = 0;
          for (const service of ['orders-service', 'users-service']) {
            // A replica of this cluster that still runs (its command line names its build), never a reused pid.
            const victim = state.replicas.filter((r) => r.service === service && isReplica(r.pid, service)).at(-1);
            if (!victim) continue;
            process.kill(victim.pid, 'SIGKILL');
            killed += 1;
            context.log(`  mid-run: killed ${victim.id} (pid ${victim.pid})`);
          }
          if (killed === 0) throw new Error('no running replica to kill: restart `npm run cluster`');
        },
        violations: {},
        // Only requests in flight on the killed replicas may fail: at most one per connection.
        thresholds: (statuses, errors) => {
          const failed = Object.entries(statuses)
            .filter(([status]) => status !== '200')
            .reduce((sum, [, count]) => sum + count, errors);
          return failed > context.connections
            ? [`${failed} failed requests: more than the ${context.connections} that can be in flight`]
            : [];
        },
      };
    },
  },
};
