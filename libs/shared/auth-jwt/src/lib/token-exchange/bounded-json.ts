/**
 * Most bytes of a JSON answer read from a service this one calls (a token
 * response, a profile): a few hundred bytes are expected, so 64 KiB is ample,
 * and a peer that sends more (a bug, or a hostile one) cannot make this
 * process buffer it all.
 */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** The answer's body was longer than {@link MAX_ANSWER_BYTES}, or not JSON. */
export class UnreadableAnswerError extends Error {
  constructor(readonly reason: 'too_large' | 'not_json') {
    super(`the answer could not be read (${reason})`);
    this.name = 'UnreadableAnswerError';
  }
}

/**
 * Reads and parses a JSON body, stopping (and cancelling the stream) as soon as
 * it passes `maxBytes`.
 *
 * @param response a fetch Response whose body is not consumed yet
 * @param maxBytes the bound, in bytes (default {@link MAX_ANSWER_BYTES})
 * @returns the parsed JSON value
 * @throws UnreadableAnswerError `too_large` past the bound, `not_json` when it does not parse
 * @throws whatever the stream throws (an AbortError when the request's signal fires meanwhile)
 */
export async function readBoundedJson(response: Response, maxBytes = MAX_ANSWER_BYTES): Promise<unknown> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new UnreadableAnswerError('too_large');
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new UnreadableAnswerError('too_large');
      }
      chunks.push(value);
    }
  }
  try {
    return JSON.parse(Buffer.concat(chunks, total).toString('utf8'));
  } catch {
    throw new UnreadableAnswerError('not_json');
  }
}
