import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startCluster, type Cluster } from '@jwt-ms/tools/cluster';
import { waitUntil } from '@jwt-ms/testing';
import { POSTGRES_ADMIN_URL, REDIS_URL } from './support/stack';
import { call } from './support/http';

const PASSWORD = 'correct horse battery staple';
const ITEMS = { items: [{ sku: 'BOOK-1', quantity: 1, unitPriceCents: 990 }] };
/** OTLP's span kinds (opentelemetry-proto trace.proto). */
const SERVER = 2;
const CLIENT = 3;

/** One span as this receiver keeps it: ids in hex, with its process's `service.name`. */
interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, string>;
}

// OTLP/JSON spells ids in hex (the OTLP spec's JSON mapping); accept base64 too, as protobuf's JSON does.
const hexId = (value: unknown): string => {
  const text = typeof value === 'string' ? value : '';
  return /^[0-9a-f]*$/i.test(text) ? text.toLowerCase() : Buffer.from(text, 'base64').toString('hex');
};
type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean };
/** The database a client span talks to: `db.system.name` in the stable conventions, `db.system` before. */
const dbSystem = (span: ReceivedSpan) => span.attributes['db.system.name'] ?? span.attributes['db.system'];
const attributesOf = (list: { key: string; value: OtlpValue }[] = []): Record<string, string> =>
  Object.fromEntries(
    list.map(({ key, value }) => [key, String(value.stringValue ?? value.intValue ?? value.boolValue)]),
  );

/**
 * Traces across the cluster: every replica exports to an OTLP/HTTP receiver
 * run by this test (the standard `OTEL_*` variables only, `http/json`), and
 * one order placed through the ingress is one trace: orders' request, its
 * token exchange at the issuer, its call to users, each a child of the span
 * that caused it, with Redis and database spans from the instrumentations.
 */
describe('traces: one order placement is one trace across the three services', () => {
  let cluster: Cluster;
  let dataDir: string;
  let receiver: Server;
  const spans: ReceivedSpan[] = [];
  const rejected: string[] = [];

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        try {
          if (request.url !== '/v1/traces') throw new Error(`unexpected ${request.method} ${request.url}`);
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          for (const resourceSpans of body.resourceSpans ?? []) {
            const service = attributesOf(resourceSpans.resource?.attributes)['service.name'];
            for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
              for (const span of scopeSpans.spans ?? []) {
                spans.push({
                  service,
                  traceId: hexId(span.traceId),
                  spanId: hexId(span.spanId),
                  parentSpanId: hexId(span.parentSpanId ?? ''),
                  name: span.name,
                  kind: Number(span.kind),
                  attributes: attributesOf(span.attributes),
                });
              }
            }
          }
          response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } catch (error) {
          rejected.push(String(error));
          response.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

    dataDir = mkdtempSync(join(tmpdir(), 'jwtms-tracing-'));
    cluster = await startCluster({
      replicas: 2,
      dataDir,
      redisUrl: REDIS_URL,
      postgresAdminUrl: POSTGRES_ADMIN_URL,
      databasePrefix: `jwtms_test_tracing_${process.pid}`,
      freshDatabases: true,
      issuer: 'http://auth.tracing.test',
      env: {
        NODE_ENV: 'test',
        AUTH_RATE_LIMIT_PER_IP: '100000',
        AUTH_TOKEN_RATE_LIMIT_PER_IP: '100000',
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        // Export within a fifth of a second rather than the default five, so the test waits less.
        OTEL_BSP_SCHEDULE_DELAY: '200',
      },
      serviceEnv: { 'orders-service': { USERS_SERVICE_TIMEOUT_MS: '15000' } },
    });
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('links orders → auth (the exchange) and orders → users as parent and child, through the ingress', async () => {
    const ingress = cluster.ingressUrl;
    const email = `traced.${Date.now().toString(36)}@example.test`;
    expect((await call('POST', `${ingress}/auth/register`, { body: { email, password: PASSWORD } })).status).toBe(201);
    const login = await call('POST', `${ingress}/auth/login`, { body: { email, password: PASSWORD } });
    expect(login.status).toBe(200);

    // The caller starts the trace, as an instrumented ingress would (W3C Trace Context §3.2).
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const placed = await call('POST', `${ingress}/orders`, {
      token: login.body.access_token,
      body: ITEMS,
      headers: { traceparent: `00-${traceId}-${callerSpanId}-01` },
    });
    expect(placed.status).toBe(201);

    const inTrace = () => spans.filter((span) => span.traceId === traceId);
    const findServerSpan = (service: string, name: string) =>
      inTrace().find((span) => span.service === service && span.kind === SERVER && span.name === name);
    /** The span, once the wait below has seen it. */
    const serverSpan = (service: string, name: string): ReceivedSpan => {
      const span = findServerSpan(service, name);
      if (!span) throw new Error(`no ${service} span ${name} in the trace`);
      return span;
    };
    const summary = () =>
      inTrace()
        .map((span) => `${span.service} ${span.kind} ${span.name} ${dbSystem(span) ?? ''}`)
        .join('\n');
    await waitUntil(
      () =>
        Boolean(
          findServerSpan('orders-service', 'POST /orders') &&
            findServerSpan('auth-service', 'POST /oauth/token') &&
            findServerSpan('users-service', 'GET /users/me') &&
            inTrace().some((span) => span.service === 'auth-service' && dbSystem(span) === 'redis') &&
            inTrace().some((span) => span.service === 'users-service' && dbSystem(span) === 'postgresql'),
        ),
      'the spans of the order placement to reach the receiver',
      30_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; the trace holds:\n${summary()}\n(${spans.length} spans in all)`);
    });
    expect(rejected).toEqual([]);

    const byId = new Map(inTrace().map((span) => [span.spanId, span]));
    const parentOf = (span: ReceivedSpan) => byId.get(span.parentSpanId);
    const orders = serverSpan('orders-service', 'POST /orders');
    expect(orders.parentSpanId).toBe(callerSpanId);
    expect(orders.attributes['http.route']).toBe('/orders');

    // Each downstream server span's parent is a client span of orders, itself under orders' request.
    for (const downstream of [
      serverSpan('auth-service', 'POST /oauth/token'),
      serverSpan('users-service', 'GET /users/me'),
    ]) {
      const client = parentOf(downstream);
      expect({ downstream: downstream.name, service: client?.service, kind: client?.kind }).toEqual({
        downstream: downstream.name,
        service: 'orders-service',
        kind: CLIENT,
      });
      let ancestor = client;
      while (ancestor && ancestor !== orders) ancestor = parentOf(ancestor);
      expect(ancestor).toBe(orders);
    }

    // Redis and database spans sit inside a request of the trace, never as roots of their own.
    const dataSpans = inTrace().filter((span) => dbSystem(span) === 'redis' || dbSystem(span) === 'postgresql');
    expect(dataSpans.length).toBeGreaterThan(0);
    for (const span of dataSpans) expect(parentOf(span)).toBeDefined();
    expect(new Set(inTrace().map((span) => span.service))).toEqual(
      new Set(['orders-service', 'auth-service', 'users-service']),
    );
  }, 90_000);

  it('traces no probe or scrape, and puts no token, code or state in a span', async () => {
    const before = spans.length;
    for (const replica of cluster.replicas) {
      await fetch(`http://127.0.0.1:${replica.port}/health/ready`);
      await fetch(`http://127.0.0.1:${replica.port}/metrics`);
    }
    // A request that is traced, after the probes: once its span arrives, the probes' would have too.
    // With an authorization code and a state in its query, as a redirect back to a client carries them.
    const jwks = await fetch(
      `${cluster.urls['auth-service']}/.well-known/jwks.json?code=c0de-not-for-spans&state=st4te`,
    );
    expect(jwks.status).toBe(200);
    await waitUntil(
      () => spans.slice(before).some((span) => span.attributes['http.route'] === '/.well-known/jwks.json'),
      'the JWKS request span',
      30_000,
    );
    const jwksSpan = spans.slice(before).find((span) => span.attributes['http.route'] === '/.well-known/jwks.json');
    // The query is recorded, with the values redacted (not dropped unseen).
    expect(JSON.stringify(jwksSpan?.attributes)).toMatch(/code=REDACTED/);
    const routes = spans.slice(before).map((span) => span.attributes['http.route'] ?? span.attributes['url.path']);
    expect(routes.filter((route) => /^\/(metrics|health)/.test(route ?? ''))).toEqual([]);
    const everything = JSON.stringify(spans);
    expect(everything).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\./); // a JWS compact serialization
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain('c0de-not-for-spans');
    expect(everything).not.toContain('st4te');
  }, 60_000);
});
