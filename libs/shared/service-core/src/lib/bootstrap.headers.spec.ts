import { Controller, Get, Module, Res } from '@nestjs/common';
import helmet from '@fastify/helmet';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { connect } from 'node:net';
import { BASELINE_SECURITY_HEADERS, INSTANCE_ID, createServiceApp, securityHeaders } from './bootstrap';
import { ProblemException } from './problem/problem.exception';
import { problemMessage, problemOf, renderProblem } from './problem/problem-response';

@Controller()
class HeadersController {
  @Get('ok')
  ok() {
    return { ok: true };
  }

  /** A route that marks its answer cacheable, then fails: the problem must not be cached. */
  @Get('cacheable-then-fails')
  cacheableThenFails(@Res({ passthrough: true }) reply: FastifyReply) {
    reply.header('cache-control', 'public, max-age=60');
    throw new ProblemException({ status: 409, code: 'conflict', detail: 'Not now.' });
  }
}

@Module({ controllers: [HeadersController] })
class HeadersModule {}

/** The headers of one raw exchange, lower-cased names, and the status. */
function rawHeaders(port: number, request: string): Promise<{ status: number; headers: Map<string, string> }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head] = Buffer.concat(chunks).toString('utf8').split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = new Map(
        lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      resolve({ status: Number(statusLine.split(' ')[1]), headers });
    });
  });
}

describe('securityHeaders', () => {
  it('is what @fastify/helmet sets with its defaults, over the baseline', async () => {
    const fastify = new FastifyAdapter().getInstance();
    await fastify.register(helmet);
    fastify.get('/', () => ({ ok: true }));
    const response = await fastify.inject({ method: 'GET', url: '/' });
    await fastify.close();
    const expected: Record<string, string> = { ...BASELINE_SECURITY_HEADERS };
    for (const [name, value] of Object.entries(response.headers))
      if (!['content-type', 'content-length', 'date', 'connection'].includes(name)) expected[name] = String(value);
    expect(await securityHeaders()).toEqual(expected);
    expect(Object.keys(expected)).toEqual(expect.arrayContaining(['strict-transport-security', 'referrer-policy']));
  });
});

describe('createServiceApp: the headers of every answer', () => {
  let app: NestFastifyApplication;
  let port: number;
  beforeAll(async () => {
    app = await createServiceApp(HeadersModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    port = Number(new URL(await app.getUrl()).port);
  }, 30_000);
  afterAll(() => app.close());

  it.each([
    ['a success', 'GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 200],
    ['a 404 from the router', 'GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 404],
    ['a URL the router cannot decode', 'GET /ok%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400],
    ['a request without Host', 'GET /ok HTTP/1.1\r\n\r\n', 400],
    [
      'headers over 16 KiB (the HTTP parser refuses them)',
      `GET /ok HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
    ],
    ['a request that is not HTTP', 'NONSENSE\r\n\r\n', 400],
  ])('%s carries every security header, the instance id and no-store', async (_name, request, status) => {
    const answer = await rawHeaders(port, request);
    expect(answer.status).toBe(status);
    for (const [name, value] of Object.entries(await securityHeaders()))
      expect({ name, value: answer.headers.get(name) }).toEqual({ name, value });
    expect(answer.headers.get('x-instance-id')).toBe(INSTANCE_ID);
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  it('answers a problem with no-store even when the route had marked its answer cacheable', async () => {
    const answer = await rawHeaders(port, 'GET /cacheable-then-fails HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer.status).toBe(409);
    expect(answer.headers.get('content-type')).toContain('application/problem+json');
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });
});

describe('the problem renderer', () => {
  it('keeps the caller’s headers but not over its content type and caching', () => {
    const rendered = renderProblem(problemOf(429, 'rate_limited', 'Slow down.'), {
      'retry-after': '3',
      'content-type': 'text/html',
      'cache-control': 'public',
    });
    expect(rendered).toEqual({
      status: 429,
      headers: { 'retry-after': '3', 'content-type': 'application/problem+json', 'cache-control': 'no-store' },
      body: '{"type":"about:blank","title":"Too Many Requests","status":429,"detail":"Slow down.","code":"rate_limited"}',
    });
  });

  it('writes a whole HTTP/1.1 answer whose Content-Length counts bytes, not characters', () => {
    const message = problemMessage(problemOf(400, 'invalid_request', 'Ünïcödé détail.'), { 'x-one': '1' });
    const [head, body] = message.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(head).toContain('\r\nconnection: close');
    expect(head).toContain('\r\nx-one: 1');
    expect(head).toContain(`\r\ncontent-length: ${Buffer.byteLength(body)}`);
    expect(Buffer.byteLength(body)).toBeGreaterThan(body.length);
    expect(JSON.parse(body)).toMatchObject({ status: 400, detail: 'Ünïcödé détail.' });
  });
});
