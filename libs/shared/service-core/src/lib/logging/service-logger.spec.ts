import { Controller, Get, Logger, Module, Param, Req } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { Writable } from 'node:stream';
import { INSTANCE_ID, createServiceApp } from '../bootstrap';
import { PinoNestLogger, createServiceLogger, logSecurityEvent, requestIdOf } from './service-logger';

/** A pino destination that keeps every line, parsed. */
function captured(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { stream, lines };
}

@Controller()
class LoggedController {
  @Get('orders/:id')
  order(@Param('id') id: string) {
    return { id };
  }

  /** Stands in for a route behind the access-token guard: the strategy leaves the principal as `request.user`. */
  @Get('me')
  me(@Req() request: FastifyRequest & { user?: unknown }) {
    request.user = { kind: 'user', subject: 'user-42', clientId: 'first-party-app', tokenId: 'jti-1' };
    return {};
  }

  @Get('boom')
  boom() {
    throw new Error('kaboom');
  }
}

@Module({ controllers: [LoggedController] })
class LoggedModule {}

describe('requestIdOf', () => {
  it.each(['abc', 'A.b_c-9', 'x'.repeat(128)])('keeps a sane X-Request-Id (%s)', (id) => {
    expect(requestIdOf(id)).toBe(id);
  });
  it.each([
    ['too long', 'x'.repeat(129)],
    ['a space', 'a b'],
    ['a newline (log forging)', 'a\n{"level":60}'],
    ['empty', ''],
    ['several headers', ['a', 'b']],
    ['none', undefined],
  ])('replaces one with %s by a random UUID', (_name, header) => {
    const id = requestIdOf(header);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(id).not.toBe(requestIdOf(header));
  });
});

describe('createServiceApp: one log line per request', () => {
  let app: NestFastifyApplication;
  const log = captured();
  const requestLines = () => log.lines.filter((line) => line['msg'] === 'request');
  beforeAll(async () => {
    app = await createServiceApp(LoggedModule, { serviceName: 'probe-service', logDestination: log.stream });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  }, 30_000);
  afterAll(() => app.close());
  beforeEach(() => log.lines.splice(0));

  const inject = (url: string, headers: Record<string, string> = {}) =>
    app.getHttpAdapter().getInstance().inject({ method: 'GET', url, headers });

  it('writes Nest’s own lines through pino as JSON, with the service and instance', async () => {
    const lines: Record<string, unknown>[] = [];
    const nest = new PinoNestLogger(
      createServiceLogger({
        service: 's',
        instance: 'i-1',
        destination: new Writable({
          write: (chunk: Buffer, _e, done) => (lines.push(JSON.parse(chunk.toString())), done()),
        }),
      }),
    );
    nest.log('listening on http://127.0.0.1:1234', 'users-service');
    nest.error('failed', 'Error: failed\n    at x (y.ts:1:1)');
    expect(lines).toEqual([
      expect.objectContaining({
        level: 30,
        service: 's',
        instance: 'i-1',
        context: 'users-service',
        msg: 'listening on http://127.0.0.1:1234',
      }),
      expect.objectContaining({ level: 50, msg: 'failed', stack: 'Error: failed\n    at x (y.ts:1:1)' }),
    ]);
  });

  it('logs the route template, status, duration in ms, the request id, and echoes the id', async () => {
    const response = await inject('/orders/123e4567?secret=x', { 'x-request-id': 'from-the-proxy.1' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-request-id']).toBe('from-the-proxy.1');
    expect(requestLines()).toEqual([
      expect.objectContaining({
        level: 30,
        service: 'probe-service',
        instance: INSTANCE_ID,
        request_id: 'from-the-proxy.1',
        method: 'GET',
        route: '/orders/:id',
        status: 200,
        duration_ms: expect.any(Number),
      }),
    ]);
    const text = JSON.stringify(log.lines);
    expect(text).not.toContain('123e4567');
    expect(text).not.toContain('secret');
    expect(requestLines()[0]).not.toHaveProperty('sub');
    expect(requestLines()[0]).not.toHaveProperty('trace_id');
  });

  it('generates an id for a 404 and a router error, answers it, logs the route as unmatched', async () => {
    const missing = await inject('/nowhere/42', { 'x-request-id': 'bad id!' });
    const undecodable = await inject('/orders/%zz');
    expect([missing.statusCode, undecodable.statusCode]).toEqual([404, 400]);
    const ids = [missing.headers['x-request-id'], undecodable.headers['x-request-id']];
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestLines().map((line) => [line['request_id'], line['route'], line['status']])).toEqual([
      [ids[0], 'unmatched', 404],
      [ids[1], 'unmatched', 400],
    ]);
  });

  it('names the verified caller by sub and client_id, and never logs the Authorization header', async () => {
    await inject('/me', { authorization: 'Bearer a.very.secret-token', cookie: 'session=s3cr3t' });
    expect(requestLines()).toEqual([
      expect.objectContaining({ route: '/me', sub: 'user-42', client_id: 'first-party-app' }),
    ]);
    const text = JSON.stringify(log.lines);
    expect(text).not.toContain('secret-token');
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toContain('jti-1');
  });

  it('logs a 5xx at error level', async () => {
    expect((await inject('/boom')).statusCode).toBe(500);
    expect(requestLines()).toEqual([expect.objectContaining({ level: 50, route: '/boom', status: 500 })]);
  });
});

describe('logSecurityEvent', () => {
  it('writes the event as fields of its own line, at warn', () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write: (chunk: Buffer, _e, done) => (lines.push(JSON.parse(chunk.toString())), done()),
    });
    const nest = new PinoNestLogger(createServiceLogger({ instance: 'i', destination }));
    Logger.overrideLogger(nest);
    try {
      logSecurityEvent(new Logger('Auth'), 'refresh_token_reuse', { sub: 'u-1', client_id: 'app' });
    } finally {
      Logger.overrideLogger(false);
    }
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        event: 'refresh_token_reuse',
        sub: 'u-1',
        client_id: 'app',
        context: 'Auth',
        msg: 'refresh_token_reuse',
      }),
    ]);
  });

  it('redacts a token or password that a careless caller passes', () => {
    const lines: string[] = [];
    const destination = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) });
    const logger = createServiceLogger({ instance: 'i', destination });
    logger.info({
      password: 'hunter2',
      headers: { authorization: 'Bearer abc.def.ghi' },
      body: { refresh_token: 'rt-1' },
    });
    expect(lines.join('')).not.toMatch(/hunter2|abc\.def\.ghi|rt-1/);
    expect(lines.join('')).toContain('[redacted]');
  });
});
