import { BadRequestException, Body, Controller, Get, Module, NotFoundException, Post } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { request as httpRequest } from 'node:http';
import { IsInt, Min } from 'class-validator';
import { createServiceApp } from '../bootstrap';
import { ProblemException } from './problem.exception';

class CountDto {
  @IsInt()
  @Min(1)
  count!: number;
}

@Controller()
class ProbeController {
  @Get('item/:id')
  item() {
    return { ok: true };
  }

  @Get('problem')
  problem() {
    throw new ProblemException({
      status: 409,
      code: 'conflict',
      detail: 'Already done.',
      headers: { 'retry-after': '3' },
    });
  }

  @Get('nest-404')
  nest404() {
    throw new NotFoundException('internal path /srv/secret not found');
  }

  @Get('nest-400')
  nest400() {
    throw new BadRequestException('library says: Unexpected token } in JSON at position 7');
  }

  @Get('crash')
  crash() {
    throw new TypeError("Cannot read properties of undefined (reading 'x')");
  }

  @Post('count')
  count(@Body() body: CountDto) {
    return body;
  }

  /** An action that takes no body, like logout. */
  @Post('act')
  act() {
    return { acted: true };
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

describe('ProblemDetailsFilter: every error is RFC 9457 problem+json', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await createServiceApp(ProbeModule, { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(() => app.close());

  const request = (
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    payload?: string,
    headers: Record<string, string> = {},
  ) =>
    app.inject({
      method,
      url,
      payload,
      headers: payload === undefined ? headers : { 'content-type': 'application/json', ...headers },
    });

  it('renders a ProblemException with its status, code, detail and headers', async () => {
    const response = await request('GET', '/problem?x=1');
    expect(response.statusCode).toBe(409);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.headers['retry-after']).toBe('3');
    expect(response.json()).toEqual({
      type: 'about:blank',
      title: 'Conflict',
      status: 409,
      detail: 'Already done.',
      code: 'conflict',
      instance: '/problem',
    });
  });

  it.each<[string, 'GET' | 'POST', string, string | undefined, number, string]>([
    ['an unknown route', 'GET', '/nowhere', undefined, 404, 'not_found'],
    ["a library's 404 message", 'GET', '/nest-404', undefined, 404, 'not_found'],
    ["a library's 400 message", 'GET', '/nest-400', undefined, 400, 'invalid_request'],
    ['malformed JSON', 'POST', '/count', '{"count": ', 400, 'invalid_request'],
    ['a failed validation', 'POST', '/count', '{"count": 0}', 400, 'validation_failed'],
    ['an unknown property', 'POST', '/count', '{"count": 1, "admin": true}', 400, 'validation_failed'],
    [
      'a body over 64 KiB',
      'POST',
      '/count',
      JSON.stringify({ count: 1, pad: 'x'.repeat(70_000) }),
      413,
      'payload_too_large',
    ],
    ['an unexpected exception', 'GET', '/crash', undefined, 500, 'internal_error'],
  ])('answers %s with a clean problem', async (_name, method, url, payload, status, code) => {
    const response = await request(method, url, payload);
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toContain('application/problem+json');
    const body = response.json();
    expect(body).toMatchObject({ type: 'about:blank', status, code });
    const text = JSON.stringify(body);
    for (const leak of ['/srv/secret', 'Unexpected token', 'Cannot read properties', 'TypeError', 'at '])
      expect(text).not.toContain(leak);
  });

  it.each([
    ['no body', undefined, undefined],
    ['Content-Type: application/json and no body', '', undefined],
    ['an empty object', '{}', undefined],
    ['a charset parameter and no body', '', 'application/json; charset=utf-8'],
    ['a form Content-Type and no body (curl -d "")', '', 'application/x-www-form-urlencoded'],
    ['text/plain and no body (fetch with body "")', '', 'text/plain;charset=UTF-8'],
    ['a body of whitespace', ' \r\n', undefined],
  ])('takes a POST with %s on an endpoint that takes no body', async (_name, payload, type) => {
    const response = await request('POST', '/act', payload, type ? { 'content-type': type } : {});
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ acted: true });
  });

  it.each([
    ['no body at all', undefined, 'The request body is missing.'],
    ['an empty JSON body', '', 'The request body is missing.'],
    ['JSON that does not parse', '{"count": ', 'The request body is not valid JSON.'],
    ['a JSON array', '[1]', 'The request body must be a JSON object.'],
    ['JSON null', 'null', 'The request body must be a JSON object.'],
    ['a JSON number', '3', 'The request body must be a JSON object.'],
    [
      'JSON that sets __proto__',
      '{"count": 1, "__proto__": {"admin": true}}',
      'The request body must not set "__proto__" or "constructor.prototype".',
    ],
  ])('says what is wrong with %s where a body is required', async (_name, payload, detail) => {
    const response = await request('POST', '/count', payload);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail,
      code: 'invalid_request',
      instance: '/count',
    });
  });

  it('reports a missing field once, as required', async () => {
    const response = await request('POST', '/count', '{}');
    expect(response.statusCode).toBe(400);
    expect(response.json().errors).toEqual([{ field: 'count', message: 'count is required' }]);
  });

  it.each<['GET' | 'POST' | 'PUT' | 'DELETE', string, string]>([
    ['GET', '/count', 'POST'],
    ['DELETE', '/act', 'POST'],
    ['PUT', '/item/42', 'GET, HEAD'],
    ['POST', '/problem', 'GET, HEAD'],
  ])('answers %s %s, a path served with other methods, with 405 and Allow', async (method, url, allow) => {
    const response = await request(method, url);
    expect(response.statusCode).toBe(405);
    expect(response.headers['allow']).toBe(allow);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ status: 405, code: 'method_not_allowed', instance: url });
  });

  it('keeps a 404 for a path no route serves, and for a route that answers 404 itself', async () => {
    for (const url of ['/nowhere', '/count/1', '/nest-404']) {
      const response = await request(url === '/nest-404' ? 'GET' : 'DELETE', url);
      expect({ url, status: response.statusCode }).toEqual({ url, status: 404 });
      expect(response.headers['allow']).toBeUndefined();
    }
  });

  it('names the invalid field of a failed validation', async () => {
    const response = await request('POST', '/count', '{"count": "three"}');
    expect(response.json().errors).toEqual([
      { field: 'count', message: 'count must not be less than 1' },
      { field: 'count', message: 'count must be an integer number' },
    ]);
  });

  it('answers a path parameter over 100 characters and an undecodable URL with problems and security headers', async () => {
    for (const [url, status] of [
      [`/item/${'a'.repeat(150)}`, 414],
      ['/item/%zz', 400],
    ] as const) {
      const response = await request('GET', url);
      expect(response.statusCode).toBe(status);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('answers a non-JSON content type with 415', async () => {
    const response = await request('POST', '/count', 'count=1', { 'content-type': 'text/plain' });
    expect(response.statusCode).toBe(415);
    expect(response.json().code).toBe('unsupported_media_type');
  });
});

describe('405 with CORS open (its OPTIONS catch-all serves every path)', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await createServiceApp(ProbeModule, { logger: false, corsOrigins: ['https://app.example.test'] });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(() => app.close());

  it('still answers 404 for a path no route serves, and 405 naming only the real methods', async () => {
    expect((await app.inject({ method: 'GET', url: '/nowhere' })).statusCode).toBe(404);
    const wrong = await app.inject({ method: 'DELETE', url: '/item/1' });
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers['allow']).toBe('GET, HEAD');
  });
});

describe('requests refused by the HTTP parser', () => {
  let app: NestFastifyApplication;
  let url: URL;

  beforeAll(async () => {
    app = await createServiceApp(ProbeModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    url = new URL(await app.getUrl());
  });

  afterAll(() => app.close());

  it('answers 404, not 405, for targets the router does not resolve (dot segments, backslashes, a leading //)', async () => {
    // Sent as they are (fetch and inject would normalise them first): the router matches the raw path.
    const statusOf = (path: string) =>
      new Promise<number | undefined>((resolve, reject) => {
        const outgoing = httpRequest(
          { host: '127.0.0.1', port: Number(url.port), path, method: 'DELETE' },
          (response) => {
            response.resume();
            resolve(response.statusCode);
          },
        );
        outgoing.on('error', reject);
        outgoing.end();
      });
    for (const path of ['/x/../problem', '/x/%2e%2e/problem', '/item/./1', '/item\\1', '//x/problem'])
      expect({ path, status: await statusOf(path) }).toEqual({ path, status: 404 });
    expect(await statusOf('/problem')).toBe(405); // the same method on the real path
  });

  it('answers headers over 16 KiB with a 431 problem', async () => {
    const response = await fetch(`http://127.0.0.1:${url.port}/problem`, {
      headers: { authorization: `Bearer ${'a'.repeat(100_000)}` },
    });
    expect(response.status).toBe(431);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.json()).toMatchObject({ status: 431, code: 'invalid_request', type: 'about:blank' });
  });
});

@Controller('oauth')
class OAuthProbeController {
  @Post('token')
  token() {
    throw new ProblemException({
      status: 400,
      code: 'invalid_grant',
      detail: 'The refresh token is invalid.',
      extensions: { error: 'invalid_grant', error_description: 'The refresh token is invalid.' },
    });
  }

  @Post('client')
  client() {
    throw new ProblemException({
      status: 401,
      code: 'invalid_client',
      detail: 'Client authentication failed.',
      headers: { 'www-authenticate': 'Basic realm="probe"' },
      extensions: { error: 'invalid_client', error_description: 'Client authentication failed.' },
    });
  }

  @Post('count')
  count(@Body() body: CountDto) {
    return body;
  }

  @Post('crash')
  crash() {
    throw new TypeError('boom');
  }
}

@Module({ controllers: [OAuthProbeController, ProbeController] })
class OAuthProbeModule {}

describe('ProblemDetailsFilter on OAuth paths: RFC 6749 §5.2 errors, application/json', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await createServiceApp(OAuthProbeModule, { logger: false, oauthPathPrefixes: ['/oauth/'] });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(() => app.close());

  /** RFC 6749 §5.2's media type (Fastify adds `charset=utf-8`, which JSON allows and clients ignore). */
  const JSON_TYPE = /^application\/json(; charset=utf-8)?$/;

  const post = (url: string, payload?: string) =>
    app.inject({
      method: 'POST',
      url,
      payload,
      headers: payload === undefined ? {} : { 'content-type': 'application/json' },
    });

  it('sends an endpoint refusal as application/json with its own error and every problem member', async () => {
    const response = await post('/oauth/token');
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(JSON_TYPE);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'The refresh token is invalid.',
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'The refresh token is invalid.',
      code: 'invalid_grant',
      instance: '/oauth/token',
    });
  });

  it('keeps the 401 challenge (§5.2: invalid_client with WWW-Authenticate)', async () => {
    const response = await post('/oauth/client');
    expect(response.statusCode).toBe(401);
    expect(response.headers['content-type']).toMatch(JSON_TYPE);
    expect(response.headers['www-authenticate']).toBe('Basic realm="probe"');
    expect(response.json()).toMatchObject({ error: 'invalid_client', code: 'invalid_client' });
  });

  it('names a refusal raised around the endpoint (validation, media type) invalid_request', async () => {
    const invalid = await post('/oauth/count', '{"count": 0}');
    expect(invalid.statusCode).toBe(400);
    expect(invalid.headers['content-type']).toMatch(JSON_TYPE);
    expect(invalid.json()).toMatchObject({
      error: 'invalid_request',
      error_description: expect.any(String),
      code: 'validation_failed',
      errors: [expect.objectContaining({ field: 'count' })],
    });
    const media = await app.inject({
      method: 'POST',
      url: '/oauth/count',
      payload: 'count=1',
      headers: { 'content-type': 'text/plain' },
    });
    expect(media.statusCode).toBe(400);
    expect(media.headers['content-type']).toMatch(JSON_TYPE);
    expect(media.json()).toEqual({
      error: 'invalid_request',
      error_description: 'The request body must be application/x-www-form-urlencoded (RFC 6749 §3.2).',
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'The request body must be application/x-www-form-urlencoded (RFC 6749 §3.2).',
      code: 'invalid_request',
      instance: '/oauth/count',
    });
  });

  it('gives a 5xx no §5.2 code, and leaves every other path problem+json', async () => {
    const crash = await post('/oauth/crash');
    expect(crash.statusCode).toBe(500);
    expect(crash.headers['content-type']).toMatch(JSON_TYPE);
    expect(crash.json()).toMatchObject({ code: 'internal_error' });
    expect(crash.json()).not.toHaveProperty('error');
    const elsewhere = await post('/count', '{"count": 0}');
    expect(elsewhere.headers['content-type']).toContain('application/problem+json');
    expect(elsewhere.json()).not.toHaveProperty('error');
  });
});
