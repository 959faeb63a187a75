import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Databases, PrivateRedis, stopProcess } from '@jwt-ms/testing';
import {
  POSTGRES_ADMIN_URL,
  launch,
  serviceTestEnv,
  startStack,
  type RunningService,
  type Stack,
} from './support/stack';
import { call, expectProblem } from './support/http';

const PASSWORD = 'correct horse battery staple';
const ITEMS = { items: [{ sku: 'BOOK-1', quantity: 1, unitPriceCents: 999 }] };
/** The bound given to replicas whose dependency misbehaves slowly, in milliseconds. */
const TIMEOUT_MS = 800;
/** A bound for replicas where the misbehaviour itself is under test, not a timeout (argon2 on a loaded machine). */
const GENEROUS_TIMEOUT_MS = '15000';

/** A request a fake server received. */
interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

/** An in-process HTTP server on port 0 that records what it receives and answers with `handler`. */
interface FakeServer {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

/**
 * Breaking the orders → users call on the customer's behalf (RFC 8693 token
 * exchange, then `GET /users/me`) with dependencies that misbehave: fake
 * users-services and token endpoints started in this process on port 0, each
 * behind an orders replica of its own. A users-service or token endpoint is
 * a network peer: what it answers must not become a 500, a hang, a wrong
 * name, or a token sent somewhere else.
 */
describe('orders → users: a misbehaving dependency', () => {
  let stack: Stack;
  const fakes: FakeServer[] = [];
  const extra: RunningService[] = [];
  const databases = new Databases(POSTGRES_ADMIN_URL);
  const ownDatabases: string[] = [];
  const run = Date.now().toString(36);
  let userCount = 0;

  beforeAll(async () => {
    stack = await startStack('postgres');
  }, 120_000);

  afterAll(async () => {
    await Promise.all(extra.map((service) => stopProcess(service.process)));
    await Promise.all(fakes.map((fake) => fake.close()));
    for (const db of ownDatabases) await databases.drop(db);
    await stack?.close();
  }, 60_000);

  const fake = async (handler: (request: IncomingMessage, response: ServerResponse, seen: Seen) => void) => {
    const seen: Seen[] = [];
    const server: Server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const entry: Seen = {
          method: request.method ?? '',
          url: request.url ?? '',
          authorization: request.headers.authorization,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        seen.push(entry);
        handler(request, response, entry);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const served: FakeServer = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      seen,
      close: async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      },
    };
    fakes.push(served);
    return served;
  };

  const customer = async (displayName?: string) => {
    userCount += 1;
    const email = `victim${userCount}.${run}@example.test`;
    expect((await call('POST', `${stack.auth}/auth/register`, { body: { email, password: PASSWORD } })).status).toBe(
      201,
    );
    const login = await call('POST', `${stack.auth}/auth/login`, { body: { email, password: PASSWORD } });
    expect(login.status).toBe(200);
    const token: string = login.body.access_token;
    if (displayName !== undefined) {
      expect((await call('PATCH', `${stack.users}/users/me`, { token, body: { displayName } })).status).toBe(200);
    }
    const profile = await call('GET', `${stack.users}/users/me`, { token });
    expect(profile.status).toBe(200);
    return { token, id: profile.body.id as string };
  };

  /** One more orders replica (in-memory SQLite unless `env` says otherwise), `env` over the stack's settings. */
  const ordersReplica = async (env: Record<string, string>) => {
    const replica = await launch(
      'orders-service',
      serviceTestEnv({
        AUTH_JWKS_URI: `${stack.auth}/.well-known/jwks.json`,
        USERS_SERVICE_URL: stack.users,
        ...(env['DATABASE_URL'] ? {} : { SQLITE_PATH: ':memory:' }),
        USERS_SERVICE_TIMEOUT_MS: GENEROUS_TIMEOUT_MS,
        ...env,
      }),
    );
    extra.push(replica);
    return replica.url;
  };
  const expectNoOrders = async (orders: string, token: string) => {
    const listed = await call('GET', `${orders}/orders`, { token });
    expect(listed.status).toBe(200);
    expect(listed.body.total).toBe(0);
  };
  /** The subject of a profile answer: the `sub` of the (exchanged) bearer token a fake received. */
  const subjectOf = (authorization: string | undefined) => {
    const payload = (authorization ?? '').replace(/^Bearer /, '').split('.')[1] ?? '';
    return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8') || '{}') as { sub?: string }).sub;
  };

  it('does not follow a redirect from users-service to another host (no token, no name from there)', async () => {
    const elsewhere = await fake((request, response, seen) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ id: subjectOf(seen.authorization), displayName: 'Mallory' }));
    });
    const redirecting = await fake((_request, response) => {
      response.writeHead(302, { location: `${elsewhere.url}/users/me` });
      response.end();
    });
    const orders = await ordersReplica({ USERS_SERVICE_URL: redirecting.url });
    const { token } = await customer('Alice');
    const answer = await call('POST', `${orders}/orders`, { token, body: ITEMS });
    expect(redirecting.seen).toHaveLength(1);
    // The redirect target is not users-service: it must see nothing, and its name must not land on an order.
    expect(elsewhere.seen).toHaveLength(0);
    expectProblem(answer, 503, 'dependency_unavailable');
    await expectNoOrders(orders, token);
  });

  it('does not follow a same-origin redirect from users-service either (the exchanged token stays on /users/me)', async () => {
    let target = 0;
    const redirecting = await fake((request, response, seen) => {
      if (request.url === '/users/me') {
        response.writeHead(307, { location: '/elsewhere' });
        response.end();
        return;
      }
      target += 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ id: subjectOf(seen.authorization), displayName: 'Redirected' }));
    });
    const orders = await ordersReplica({ USERS_SERVICE_URL: redirecting.url });
    const { token } = await customer('Bob');
    const answer = await call('POST', `${orders}/orders`, { token, body: ITEMS });
    expect(target).toBe(0);
    expectProblem(answer, 503, 'dependency_unavailable');
    await expectNoOrders(orders, token);
  });

  it("does not resend the user's token (subject_token) when the token endpoint redirects", async () => {
    const collector = await fake((_request, response) => {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: 'invalid_request' }));
    });
    const redirecting = await fake((_request, response) => {
      // 307 keeps the method and the body: a fetch that follows it posts the form again, to the new place.
      response.writeHead(307, { location: `${collector.url}/oauth/token` });
      response.end();
    });
    const orders = await ordersReplica({ AUTH_TOKEN_ENDPOINT: `${redirecting.url}/oauth/token` });
    const { token } = await customer('Carol');
    const answer = await call('POST', `${orders}/orders`, { token, body: ITEMS });
    expect(redirecting.seen).toHaveLength(1);
    expect(redirecting.seen[0].body).toContain('subject_token=');
    expect(collector.seen.some((seen) => seen.body.includes(token))).toBe(false);
    expect(collector.seen).toHaveLength(0);
    expectProblem(answer, 503, 'dependency_unavailable');
    await expectNoOrders(orders, token);
  });

  it('answers 503 within its bound when users-service sends headers at once and trickles the body past it', async () => {
    const trickling = await fake((_request, response, seen) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const body = JSON.stringify({ id: subjectOf(seen.authorization), displayName: 'Slow' });
      let sent = 0;
      const timer = setInterval(() => {
        if (response.destroyed || sent >= body.length) {
          clearInterval(timer);
          if (!response.destroyed) response.end();
          return;
        }
        response.write(body[sent]);
        sent += 1;
      }, 200);
      response.on('close', () => clearInterval(timer));
    });
    const orders = await ordersReplica({
      USERS_SERVICE_URL: trickling.url,
      USERS_SERVICE_TIMEOUT_MS: String(TIMEOUT_MS),
    });
    const { token } = await customer('Dave');
    // Warm the exchange cache so that the bound is spent on the users call alone.
    await call('POST', `${orders}/orders`, { token, body: ITEMS });
    const started = performance.now();
    const answer = await call('POST', `${orders}/orders`, { token, body: ITEMS });
    const elapsedMs = performance.now() - started;
    expectProblem(answer, 503, 'dependency_unavailable');
    expect(answer.body.detail).toContain(`within ${TIMEOUT_MS} ms`);
    expect(elapsedMs).toBeLessThan(TIMEOUT_MS + 4000);
    await expectNoOrders(orders, token);
  }, 60_000);

  it('reads no more than a bounded profile: a huge answer is refused without being buffered', async () => {
    const PAD_MIB = 64;
    let written = 0;
    let closedAfter = -1;
    const huge = await fake((_request, response, seen) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const mib = ' '.repeat(1024 * 1024);
      response.write(`{"id":${JSON.stringify(subjectOf(seen.authorization))},"displayName":"Huge"`);
      let left = PAD_MIB;
      const pump = () => {
        while (left > 0) {
          left -= 1;
          written += mib.length;
          if (!response.write(mib)) {
            response.once('drain', pump);
            return;
          }
        }
        response.end('}');
      };
      response.on('close', () => {
        closedAfter = written;
      });
      pump();
    });
    const orders = await ordersReplica({ USERS_SERVICE_URL: huge.url });
    const { token } = await customer('Erin');
    const answer = await call('POST', `${orders}/orders`, { token, body: ITEMS });
    expectProblem(answer, 503, 'dependency_unavailable');
    await expectNoOrders(orders, token);
    // A profile is a few hundred bytes; a reader that stops at a small cap leaves most of the padding unread
    // (what was written beyond the cap sits in socket buffers, a few MiB at most).
    const deadline = Date.now() + 10_000;
    while (closedAfter < 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closedAfter).toBeGreaterThanOrEqual(0);
    expect(closedAfter).toBeLessThan(16 * 1024 * 1024);
  }, 60_000);

  it('answers 503, not 500, when users-service sends a display name longer than the order column holds', async () => {
    const db = `jwtms_test_orders_attack_${process.pid}_${run}`;
    await databases.recreate(db);
    ownDatabases.push(db);
    const long = await fake((_request, response, seen) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ id: subjectOf(seen.authorization), displayName: 'x'.repeat(5000) }));
    });
    const orders = await ordersReplica({ USERS_SERVICE_URL: long.url, DATABASE_URL: databases.urlOf(db) });
    const { token } = await customer('Frank');
    const answer = await call('POST', `${orders}/orders`, { token, body: ITEMS });
    expectProblem(answer, 503, 'dependency_unavailable');
    await expectNoOrders(orders, token);
  }, 60_000);

  it.each([
    ['not JSON', 'text/html', () => '<html>oops</html>'],
    ['JSON, but a list', 'application/json', () => '[]'],
    ['another person', 'application/json', () => JSON.stringify({ id: 'someone-else', displayName: 'Eve' })],
    ['a number for a name', 'application/json', (id: string) => JSON.stringify({ id, displayName: 42 })],
  ])(
    'answers 503 for a users-service answer that is %s, and writes nothing',
    async (_what, type, body) => {
      const odd = await fake((_request, response, seen) => {
        response.writeHead(200, { 'content-type': type });
        response.end(body(subjectOf(seen.authorization) ?? ''));
      });
      const orders = await ordersReplica({ USERS_SERVICE_URL: odd.url });
      const { token } = await customer('Grace');
      const answer = await call('POST', `${orders}/orders`, { token, body: ITEMS });
      expectProblem(answer, 503, 'dependency_unavailable');
      await expectNoOrders(orders, token);
    },
    60_000,
  );

  it("answers 503, not 401 refused_downstream, when the issuer rate-limits orders-service's exchanges", async () => {
    // Exactly what auth-service answers past AUTH_TOKEN_RATE_LIMIT_PER_CLIENT / _PER_IP (token-limits.e2e-spec):
    // RFC 6749 §5.2 `error: invalid_request` on a 429. That is orders' allowance, not the user's token.
    const limited = await fake((_request, response) => {
      response.writeHead(429, { 'content-type': 'application/problem+json', 'retry-after': '60' });
      response.end(
        JSON.stringify({
          type: 'about:blank',
          title: 'Too Many Requests',
          status: 429,
          code: 'rate_limited',
          error: 'invalid_request',
          error_description: 'Too many requests; try again later.',
        }),
      );
    });
    const orders = await ordersReplica({ AUTH_TOKEN_ENDPOINT: `${limited.url}/oauth/token` });
    const { token } = await customer('Heidi');
    const answer = await call('POST', `${orders}/orders`, { token, body: ITEMS });
    expect(limited.seen).toHaveLength(1);
    // A 401 invalid_token tells the client app its user's session is over: it would log them out.
    expectProblem(answer, 503, 'dependency_unavailable');
    expect(answer.headers.get('retry-after')).toBeTruthy();
    // And the user's token is still good.
    expect((await call('GET', `${orders}/orders`, { token })).status).toBe(200);
  });

  it('pays one exchange for 50 parallel orders of a new customer, and stamps every one with their name', async () => {
    const counting = await fake((request, response, seen) => {
      fetch(`${stack.auth}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: seen.authorization ?? '',
          'content-type': request.headers['content-type'] ?? '',
        },
        body: seen.body,
      })
        .then(async (upstream) => {
          response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? '' });
          response.end(await upstream.text());
        })
        .catch(() => {
          response.writeHead(502);
          response.end();
        });
    });
    const orders = await ordersReplica({ AUTH_TOKEN_ENDPOINT: `${counting.url}/oauth/token` });
    const { token, id } = await customer('Ivan');
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => call('POST', `${orders}/orders`, { token, body: ITEMS })),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(50).fill(201));
    expect(new Set(answers.map((answer) => answer.body.customerName))).toEqual(new Set(['Ivan']));
    expect(answers.every((answer) => answer.body.ownerId === id)).toBe(true);
    expect(counting.seen).toHaveLength(1);
    // Another customer on the same replica gets an exchange of their own, and their own name.
    const other = await customer('Judy');
    const theirs = await call('POST', `${orders}/orders`, { token: other.token, body: ITEMS });
    expect(theirs.status).toBe(201);
    expect(theirs.body).toMatchObject({ ownerId: other.id, customerName: 'Judy' });
    expect(counting.seen).toHaveLength(2);
  }, 120_000);
});

/**
 * The issuer's per-IP request limit on the token endpoints (docs/api.md#rate-limits) against orders-service's
 * own exchanges: every exchange of every customer comes from the orders pod's one address, so that address's
 * allowance (`AUTH_TOKEN_RATE_LIMIT_PER_IP`, 300 a minute by default), meant for a user's device, caps how
 * many customers a minute can place a first order, far below the client's own `AUTH_TOKEN_RATE_LIMIT_PER_CLIENT`
 * (6000). Own Redis (the counts are nobody else's) and small limits.
 */
describe("orders → users: the issuer's per-IP limit and orders-service's exchanges", () => {
  const PER_IP = 3;
  const redis = new PrivateRedis();
  let stack: Stack;
  const run = Date.now().toString(36);

  beforeAll(async () => {
    await redis.start();
    const env = { REDIS_URL: redis.url };
    stack = await startStack('sqlite', {
      'auth-service': {
        ...env,
        AUTH_TOKEN_RATE_LIMIT_PER_IP: String(PER_IP),
        AUTH_TOKEN_RATE_LIMIT_PER_CLIENT: '1000',
        AUTH_RATE_LIMIT_WINDOW_SECONDS: '3600',
      },
      'users-service': env,
      'orders-service': env,
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await redis.stop();
  }, 60_000);

  it("holds orders-service's exchanges to its client allowance, not to the per-IP allowance of one device", async () => {
    const statuses: number[] = [];
    for (let n = 1; n <= PER_IP + 1; n += 1) {
      const email = `shopper${n}.${run}@example.test`;
      expect((await call('POST', `${stack.auth}/auth/register`, { body: { email, password: PASSWORD } })).status).toBe(
        201,
      );
      const login = await call('POST', `${stack.auth}/auth/login`, { body: { email, password: PASSWORD } });
      expect(login.status).toBe(200);
      const placed = await call('POST', `${stack.orders}/orders`, { token: login.body.access_token, body: ITEMS });
      statuses.push(placed.status);
    }
    // One first order per customer, one exchange each: PER_IP + 1 customers are far within the client's 1000.
    expect(statuses).toEqual(Array(PER_IP + 1).fill(201));
  }, 120_000);
});
