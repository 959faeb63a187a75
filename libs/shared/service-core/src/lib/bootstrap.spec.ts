import { Body, Controller, Get, Header, Module, Post, Req, type LoggerService } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { IsInt } from 'class-validator';
import { Agent, get, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { BASELINE_SECURITY_HEADERS, HTTP_TIMEOUTS, createServiceApp, type ServiceAppOptions } from './bootstrap';

/** Resolves when a request has reached the handler: the shutdown must begin with it in flight, however slow the machine. */
let handlerEntered: Promise<void>;
let enterHandler: () => void;
function expectRequest(): void {
  handlerEntered = new Promise((resolve) => (enterHandler = resolve));
}

@Controller()
class SlowController {
  /** Answers 300 ms after it was reached: a request in flight when the shutdown begins. */
  @Get('slow')
  async slow() {
    enterHandler();
    await sleep(300);
    return { done: true };
  }
}

@Module({ controllers: [SlowController] })
class SlowModule {}

/** Opens a connection and sends only part of a request's headers: a client that never finishes. */
function halfRequest(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write('GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ');
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

describe('createServiceApp: shutdown', () => {
  it('finishes the requests in flight, then closes a connection that never completes its request', async () => {
    const drainMs = 1000;
    const app = await createServiceApp(SlowModule, { logger: false, shutdownDrainMs: drainMs });
    await app.listen(0, '127.0.0.1');
    const port = Number(new URL(await app.getUrl()).port);
    expectRequest();
    const stuck = await halfRequest(port);
    const stuckClosed = new Promise<void>((resolve) => stuck.on('close', () => resolve()));
    const inFlight = fetch(`http://127.0.0.1:${port}/slow`).then(async (response) => ({
      status: response.status,
      body: await response.json(),
    }));
    await handlerEntered;

    const started = Date.now();
    await app.close();
    const tookMs = Date.now() - started;

    await expect(inFlight).resolves.toEqual({ status: 200, body: { done: true } });
    await stuckClosed;
    // Not before the deadline (the drain is real), not much after it (the stuck client does not hold it).
    expect(tookMs).toBeGreaterThanOrEqual(drainMs - 50);
    expect(tookMs).toBeLessThan(drainMs + 2000);
  });

  it('answers the requests in flight with Connection: close, so a keep-alive client does not hold the close', async () => {
    const drainMs = 5000;
    const app = await createServiceApp(SlowModule, { logger: false, shutdownDrainMs: drainMs });
    await app.listen(0, '127.0.0.1');
    const port = Number(new URL(await app.getUrl()).port);
    const agent = new Agent({ keepAlive: true });
    expectRequest();
    const inFlight = new Promise<{ status?: number; connection?: string }>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/slow', agent }, (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode, connection: response.headers.connection }));
      }).on('error', reject);
    });
    await handlerEntered;

    const started = Date.now();
    await app.close();
    const tookMs = Date.now() - started;

    await expect(inFlight).resolves.toEqual({ status: 200, connection: 'close' });
    expect(tookMs).toBeLessThan(drainMs / 2); // the connection went with its last answer, not at the deadline
    agent.destroy();
  });
});

/** A logger that keeps every line, by level: what the service would have printed. */
class RecordingLogger implements LoggerService {
  readonly lines: Array<{ level: string; message: string; extra: unknown[] }> = [];
  private waiters: Array<{ test: (message: string) => boolean; resolve: () => void }> = [];
  log(message: unknown, ...extra: unknown[]) {
    this.record('log', message, extra);
  }
  error(message: unknown, ...extra: unknown[]) {
    this.record('error', message, extra);
  }
  warn(message: unknown, ...extra: unknown[]) {
    this.record('warn', message, extra);
  }
  /** Resolves once a line whose message passes `test` has been logged (before or after the call). */
  logged(test: (message: string) => boolean): Promise<void> {
    if (this.lines.some((line) => test(line.message))) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }
  private record(level: string, message: unknown, extra: unknown[]) {
    this.lines.push({ level, message: String(message), extra });
    for (const waiter of this.waiters.filter((w) => w.test(String(message)))) waiter.resolve();
  }
}

class CountDto {
  @IsInt()
  count!: number;
}

@Controller()
class ProbeController {
  @Post('count')
  count(@Body() body: CountDto) {
    return body;
  }

  /** The client address as the service sees it (what the per-IP limits key on). */
  @Get('ip')
  ip(@Req() request: FastifyRequest) {
    return { ip: request.ip };
  }

  @Get('cacheable')
  @Header('cache-control', 'public, max-age=60')
  cacheable() {
    return { shared: true };
  }

  @Get('private')
  private() {
    return { mine: true };
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

async function startProbe(options: ServiceAppOptions): Promise<{ app: NestFastifyApplication; port: number }> {
  const app = await createServiceApp(ProbeModule, { logger: false, ...options });
  await app.listen(0, '127.0.0.1');
  return { app, port: Number(new URL(await app.getUrl()).port) };
}

/** Sends `head` on a fresh connection; resolves with everything the server sent once it closes, and when. */
function rawExchange(port: number, head: string, trickleEveryMs?: number) {
  return new Promise<{ text: string; closedAt: number; startedAt: number }>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let trickle: NodeJS.Timeout | undefined;
    const startedAt = Date.now();
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head);
      // A client that keeps its body coming, one byte at a time: never idle, never done.
      if (trickleEveryMs) trickle = setInterval(() => socket.writable && socket.write(' '), trickleEveryMs);
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      clearInterval(trickle);
      resolve({ text: Buffer.concat(chunks).toString('utf8'), closedAt: Date.now(), startedAt });
    });
  });
}

describe('createServiceApp: request timeouts', () => {
  it('closes a connection whose body trickles in past the request timeout, with a 408 problem and one quiet log line', async () => {
    const logger = new RecordingLogger();
    const requestMs = 1000;
    const { app, port } = await startProbe({ logger, timeouts: { requestMs } });
    try {
      const exchange = await rawExchange(
        port,
        'POST /count HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{"count":',
        100,
      );
      const tookMs = exchange.closedAt - exchange.startedAt;
      expect(tookMs).toBeGreaterThanOrEqual(requestMs - 50);
      // Node checks the deadline every requestMs / 4; the rest is a busy machine's margin.
      expect(tookMs).toBeLessThan(requestMs + 4000);
      const [head, body] = exchange.text.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 408 /);
      expect(head.toLowerCase()).toContain('content-type: application/problem+json');
      expect(head.toLowerCase()).toContain('x-content-type-options: nosniff');
      expect(JSON.parse(body)).toMatchObject({ status: 408, code: 'invalid_request' });
      await logger.logged((message) => message.includes('closed the connection'));
      expect(logger.lines.filter((line) => line.level !== 'log')).toEqual([]);
      const aborts = logger.lines.filter((line) => line.message.includes('closed the connection'));
      expect(aborts).toEqual([
        {
          level: 'log',
          message: 'POST /count: the client closed the connection before its body arrived',
          extra: ['ProblemDetailsFilter'],
        },
      ]);
    } finally {
      await app.close();
    }
  });

  it('logs a body the client abandons as one line without a stack', async () => {
    const logger = new RecordingLogger();
    const { app, port } = await startProbe({ logger });
    try {
      // Once the service has the request's headers (its handler runs first) and part of the body, the client goes.
      const server = app.getHttpServer() as Server;
      const received = new Promise<void>((resolve) => server.once('request', () => resolve()));
      const socket = connect(port, '127.0.0.1');
      await new Promise((resolve) => socket.on('connect', resolve));
      const closed = new Promise((resolve) => socket.on('close', resolve));
      socket.write(
        'POST /count HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{"co',
      );
      await received;
      socket.destroy();
      await closed;
      await logger.logged((message) => message.includes('closed the connection'));
      expect(logger.lines.filter((line) => line.level === 'error')).toEqual([]);
      expect(JSON.stringify(logger.lines)).not.toContain('Error: aborted');
    } finally {
      await app.close();
    }
  });
});

describe('createServiceApp: timeouts by default', () => {
  it('sets every HTTP deadline (none is unlimited), the keep-alive above the proxies’ 60 s', async () => {
    const { app } = await startProbe({});
    try {
      const server = app.getHttpServer() as Server;
      expect({
        requestTimeout: server.requestTimeout,
        headersTimeout: server.headersTimeout,
        keepAliveTimeout: server.keepAliveTimeout,
        timeout: server.timeout,
      }).toEqual({
        requestTimeout: HTTP_TIMEOUTS.requestMs,
        headersTimeout: HTTP_TIMEOUTS.requestMs,
        keepAliveTimeout: HTTP_TIMEOUTS.keepAliveMs,
        timeout: HTTP_TIMEOUTS.connectionMs,
      });
      expect(HTTP_TIMEOUTS.requestMs).toBeGreaterThan(0);
      expect(HTTP_TIMEOUTS.keepAliveMs).toBeGreaterThan(60_000);
    } finally {
      await app.close();
    }
  });
});

describe('createServiceApp: X-Forwarded-For only from trusted proxies', () => {
  const ipSeen = async (trustedProxies: string[] | undefined, forwardedFor: string) => {
    const { app, port } = await startProbe({ trustedProxies });
    try {
      const response = await fetch(`http://127.0.0.1:${port}/ip`, { headers: { 'x-forwarded-for': forwardedFor } });
      return ((await response.json()) as { ip: string }).ip;
    } finally {
      await app.close();
    }
  };

  it.each<[string, string[] | undefined, string, string]>([
    ['no proxy is trusted', undefined, '203.0.113.7', '127.0.0.1'],
    ['the peer is not among the trusted proxies', ['10.244.0.0/16', '192.0.2.1'], '203.0.113.7', '127.0.0.1'],
    ['the peer is a trusted proxy', ['127.0.0.1'], '203.0.113.7', '203.0.113.7'],
    ['the peer is in a trusted CIDR', ['10.0.0.0/8', '127.0.0.0/8'], '203.0.113.7', '203.0.113.7'],
    // A client in front of the proxy adds its own entry first: the proxy's (the last) is the one believed.
    ['a client forged an earlier entry', ['127.0.0.1'], '198.51.100.1, 203.0.113.7', '203.0.113.7'],
  ])('when %s, request.ip is right', async (_name, trusted, forwardedFor, expected) => {
    expect(await ipSeen(trusted, forwardedFor)).toBe(expected);
  });
});

describe('createServiceApp: Host header (RFC 9112 §3.2)', () => {
  let app: NestFastifyApplication;
  let port: number;
  beforeAll(async () => ({ app, port } = await startProbe({})), 30_000);
  afterAll(() => app.close());

  it.each([
    ['an HTTP/1.1 request without Host', 'GET /private HTTP/1.1\r\n\r\n', 'The request must have a Host header.'],
    [
      'a request with two Host headers',
      'GET /private HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n',
      'The request must have one Host header, not several.',
    ],
  ])('answers %s with a 400 problem and the security headers', async (_name, request, detail) => {
    const { text } = await rawExchange(port, request);
    const [head, body] = text.split('\r\n\r\n');
    const headers = head.toLowerCase();
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(headers).toContain('content-type: application/problem+json');
    for (const [name, value] of Object.entries(BASELINE_SECURITY_HEADERS))
      expect(headers).toContain(`${name}: ${value.toLowerCase()}`);
    expect(headers).toContain('connection: close');
    expect(JSON.parse(body)).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail,
      code: 'invalid_request',
      instance: '/private',
    });
  });

  it('still serves HTTP/1.0 without Host (it has none) and HTTP/1.1 with one', async () => {
    for (const request of [
      'GET /private HTTP/1.0\r\n\r\n',
      'GET /private HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    ])
      expect((await rawExchange(port, request)).text).toMatch(/^HTTP\/1\.[01] 200 /);
  });
});

describe('createServiceApp: Cache-Control', () => {
  let app: NestFastifyApplication;
  let port: number;
  beforeAll(async () => ({ app, port } = await startProbe({})), 30_000);
  afterAll(() => app.close());

  const cacheControlOf = async (path: string, init: RequestInit = {}) =>
    (await fetch(`http://127.0.0.1:${port}${path}`, init)).headers.get('cache-control');

  it.each([
    ['an answer to a request with credentials', '/private', { headers: { authorization: 'Bearer abc' } }],
    ['an answer without credentials', '/private', {}],
    ['an error answer to a request with credentials', '/nowhere', { headers: { authorization: 'Bearer abc' } }],
    [
      'a validation error',
      '/count',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"count":"x"}' },
    ],
  ])('is no-store on %s (RFC 9111 §5.2.2.5, RFC 6750 §5.3)', async (_name, path, init) => {
    expect(await cacheControlOf(path, init as RequestInit)).toBe('no-store');
  });

  it("keeps a route's own caching", async () => {
    expect(await cacheControlOf('/cacheable', { headers: { authorization: 'Bearer abc' } })).toBe('public, max-age=60');
  });
});
