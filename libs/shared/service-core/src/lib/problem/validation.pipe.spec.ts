import { Body, Controller, Module, Post } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Type } from 'class-transformer';
import { IsArray, IsInt, IsOptional, IsString, Min, ValidateNested } from 'class-validator';
import { createServiceApp } from '../bootstrap';
import { MAX_JSON_DEPTH, MAX_JSON_VALUES } from './json-body';
import { MAX_LISTED_ERRORS } from './problem.exception';
import { IgnoreUnknownProperties } from './validation.pipe';

class CountDto {
  @IsInt()
  @Min(1)
  count!: number;
}

class LineDto {
  @IsString()
  sku!: string;

  @IsInt()
  @Min(1)
  quantity!: number;
}

class LinesDto {
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => LineDto)
  items!: LineDto[];
}

/** Like an RFC 6749 form: unknown parameters are ignored. */
@IgnoreUnknownProperties()
class LenientDto {
  @IsOptional()
  @IsString()
  token?: string;
}

@Controller()
class BodiesController {
  @Post('count')
  count(@Body() body: CountDto) {
    return body;
  }

  @Post('lines')
  lines(@Body() body: LinesDto) {
    return body;
  }

  @Post('lenient')
  lenient(@Body() body: LenientDto) {
    return { ...body };
  }
}

@Module({ controllers: [BodiesController] })
class BodiesModule {}

/** `{"m0":0,"m1":0,…}` with `members` members besides `extra`'s. */
function withMembers(members: number, extra: Record<string, unknown> = {}): string {
  const body: Record<string, unknown> = { ...extra };
  for (let index = 0; index < members; index += 1) body[`m${index}`] = 0;
  return JSON.stringify(body);
}

describe('hostile bodies: what a validation error may cost', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await createServiceApp(BodiesModule, { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  }, 30_000);

  afterAll(() => app.close());

  const post = (url: string, payload: string) =>
    app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } });

  it('refuses a 64 KiB body of 6,500 unknown members before validation, with a short answer', async () => {
    const payload = withMembers(6500, { count: 1 });
    expect(payload.length).toBeGreaterThan(60_000);
    const response = await post('/count', payload);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: `The request body is not acceptable: the body holds more than ${MAX_JSON_VALUES} values.`,
      code: 'invalid_request',
      instance: '/count',
    });
    expect(response.body.length).toBeLessThan(1024);
  });

  it('lists the first unknown members of a body under the value cap and counts the rest', async () => {
    const unknown = MAX_JSON_VALUES - 10;
    const response = await post('/count', withMembers(unknown, { count: 1 }));
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body).toMatchObject({ status: 400, code: 'validation_failed', errors_omitted: unknown - MAX_LISTED_ERRORS });
    expect(body.errors).toHaveLength(MAX_LISTED_ERRORS);
    expect(body.errors[0]).toEqual({ field: 'm0', message: 'property m0 should not exist' });
    expect(response.body.length).toBeLessThan(2048);
  });

  it('counts just over the cap too, and lists a few unknown members beside the other errors', async () => {
    const over = await post('/count', withMembers(MAX_LISTED_ERRORS + 1, { count: 1 }));
    expect(over.json()).toMatchObject({ errors_omitted: 1 });
    expect(over.json().errors).toHaveLength(MAX_LISTED_ERRORS);
    const few = await post('/count', withMembers(2, { count: 0 }));
    expect(few.json().errors_omitted).toBeUndefined();
    expect(few.json().errors).toEqual([
      { field: 'm0', message: 'property m0 should not exist' },
      { field: 'm1', message: 'property m1 should not exist' },
      { field: 'count', message: 'count must not be less than 1' },
    ]);
  });

  it('caps the errors of nested objects (an array of invalid items)', async () => {
    // 60 items, each with two broken fields: 120 errors found, 10 listed.
    const items = Array.from({ length: 60 }, () => ({ sku: 5, quantity: 0 }));
    const response = await post('/lines', JSON.stringify({ items }));
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.errors).toHaveLength(MAX_LISTED_ERRORS);
    expect(body.errors[0]).toEqual({ field: 'items.0.sku', message: 'sku must be a string' });
    expect(body.errors_omitted).toBe(120 - MAX_LISTED_ERRORS);
  });

  it('refuses more nested values than the cap before validation', async () => {
    const items = Array.from({ length: MAX_JSON_VALUES }, () => ({}));
    const response = await post('/lines', JSON.stringify({ items }));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'invalid_request' });
    expect(response.json().detail).toContain(`more than ${MAX_JSON_VALUES} values`);
  });

  it('refuses deep nesting before validation', async () => {
    const deep = '{"items":' + '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1) + '}';
    const response = await post('/lines', deep);
    expect(response.statusCode).toBe(400);
    expect(response.json().detail).toContain(`nested deeper than ${MAX_JSON_DEPTH} levels`);
  });

  it('drops unknown members of a lenient DTO without listing them', async () => {
    const response = await post('/lenient', withMembers(200, { token: 't' }));
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ token: 't' });
  });
});

describe('duplicate member names in a JSON body', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await createServiceApp(BodiesModule, { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  }, 30_000);

  afterAll(() => app.close());

  const post = (url: string, payload: string) =>
    app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } });

  it.each([
    ['at the top level', '/count', '{"count":1,"count":2}'],
    ['with whitespace before the colon', '/count', '{"count":1,\n  "count"\t:2}'],
    ['spelled with an escape', '/count', '{"count":1,"\\u0063ount":2}'],
    ['inside a nested object', '/lines', '{"items":[{"sku":"a","quantity":1,"sku":"b"}]}'],
  ])('refuses a name repeated %s with a 400 problem', async (_name, url, payload) => {
    const response = await post(url, payload);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'The request body is not acceptable: an object names the same member more than once.',
      code: 'invalid_request',
      instance: url,
    });
  });

  it.each([
    ['equal values under different names', '/lines', '{"items":[{"sku":"a","quantity":1},{"sku":"a","quantity":1}]}'],
    ['a colon and quotes inside a string', '/lines', '{"items":[{"sku":"a\\":\\"b","quantity":1}]}'],
  ])('accepts %s', async (_name, url, payload) => {
    expect((await post(url, payload)).statusCode).toBe(201);
  });
});
