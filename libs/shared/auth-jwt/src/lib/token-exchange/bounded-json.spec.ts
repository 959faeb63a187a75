import { Logger } from '@nestjs/common';
import { MAX_ANSWER_BYTES, UnreadableAnswerError, readBoundedJson } from './bounded-json';
import { downstreamProblem } from './downstream-call';
import { TokenExchangeRefusedError } from './token-exchange.client';

/** A body that yields `chunks` of `size` bytes each and records how many were pulled. */
const streamed = (chunks: number, size: number) => {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled === chunks) return controller.close();
      pulled += 1;
      controller.enqueue(new Uint8Array(size).fill(0x20));
    },
  });
  return { response: new Response(body), pulled: () => pulled };
};

describe('readBoundedJson', () => {
  it('parses a small JSON body', async () => {
    await expect(readBoundedJson(new Response('{"id":"u1","displayName":null}'))).resolves.toEqual({
      id: 'u1',
      displayName: null,
    });
  });

  it('stops reading a body past the bound, without pulling the rest', async () => {
    const { response, pulled } = streamed(1000, 16 * 1024);
    await expect(readBoundedJson(response)).rejects.toEqual(new UnreadableAnswerError('too_large'));
    expect(pulled()).toBeLessThanOrEqual(MAX_ANSWER_BYTES / (16 * 1024) + 2);
  });

  it('refuses a declared Content-Length past the bound before reading', async () => {
    const response = new Response('{}', { headers: { 'content-length': String(MAX_ANSWER_BYTES + 1) } });
    await expect(readBoundedJson(response)).rejects.toEqual(new UnreadableAnswerError('too_large'));
  });

  it('refuses a body that is not JSON', async () => {
    await expect(readBoundedJson(new Response('<html>'))).rejects.toEqual(new UnreadableAnswerError('not_json'));
  });
});

describe('downstreamProblem and the issuer rate limit', () => {
  const context = { realm: 'orders-service', dependency: 'users-service', timeoutMs: 500, logger: new Logger('t') };

  it('answers 503 for invalid_request on a 429 (the issuer limits this service), 401 for it on a 400', () => {
    expect(downstreamProblem(new TokenExchangeRefusedError('invalid_request', 429), context).getStatus()).toBe(503);
    expect(downstreamProblem(new TokenExchangeRefusedError('invalid_request', 400), context).getStatus()).toBe(401);
  });
});
