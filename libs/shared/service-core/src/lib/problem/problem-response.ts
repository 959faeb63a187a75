import { STATUS_CODES } from 'node:http';
import type { FastifyReply } from 'fastify';
import { PROBLEM_CONTENT_TYPE, type ErrorCode, type ProblemDetails } from '@jwt-ms/contracts';

/**
 * The one renderer of RFC 9457 problem answers. Every error this project
 * sends goes through it, whichever path produced it: the exception filter
 * (errors raised by routes, guards, pipes, body parsers), the bootstrap's
 * own answers before any route runs (a bad Host, an undecodable URL), and
 * the HTTP parser's refusals written straight to the socket. So every
 * problem has the same body shape and the same headers.
 */

/**
 * The media types a problem is sent as: RFC 9457's, or plain JSON where a
 * protocol demands it (RFC 6749 §5.2: an OAuth endpoint's error is
 * `application/json`; the body keeps every problem member).
 */
export type ProblemMediaType = typeof PROBLEM_CONTENT_TYPE | 'application/json';

/** Headers of every problem answer, after the caller's: they cannot be overridden. */
const PROBLEM_HEADERS: Readonly<Record<string, string>> = {
  'content-type': PROBLEM_CONTENT_TYPE,
  // RFC 9111 §5.2.2.5: an error may be about a credential; no cache keeps it, whatever the route said before failing.
  'cache-control': 'no-store',
};

/** A problem ready to send: its status, every header (lower-case names), and its JSON text. */
export interface RenderedProblem {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * The RFC 9457 §3.1 members for a status: `type` `about:blank`, so `title`
 * is the status's reason phrase (§4.2.1).
 *
 * @param status HTTP status, 4xx or 5xx
 * @param code this project's stable error code
 * @param detail what went wrong in this occurrence, for a person; never a library's message
 */
export function problemOf(status: number, code: ErrorCode, detail: string): ProblemDetails {
  return { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail, code };
}

/**
 * @param problem the body; its `status` is the answer's
 * @param headers the answer's other headers (security headers, `Allow`, `WWW-Authenticate`, `Retry-After`…)
 * @param mediaType the `Content-Type`: `application/problem+json` unless the endpoint's protocol says otherwise
 * @returns the status, the headers with that `Content-Type` and `Cache-Control: no-store`, and the body as JSON text
 */
export function renderProblem(
  problem: ProblemDetails,
  headers: Readonly<Record<string, string>> = {},
  mediaType: ProblemMediaType = PROBLEM_CONTENT_TYPE,
): RenderedProblem {
  return {
    status: problem.status,
    headers: { ...headers, ...PROBLEM_HEADERS, 'content-type': mediaType },
    body: JSON.stringify(problem),
  };
}

/**
 * Sends a problem through Fastify (the hooks still run).
 *
 * @param reply the request's reply, not sent yet
 * @param problem the body
 * @param headers the answer's other headers ({@link renderProblem})
 * @param mediaType the `Content-Type` ({@link renderProblem}); `application/problem+json` by default
 */
export function sendProblem(
  reply: FastifyReply,
  problem: ProblemDetails,
  headers: Readonly<Record<string, string>> = {},
  mediaType?: ProblemMediaType,
): void {
  const rendered = renderProblem(problem, headers, mediaType);
  reply.code(rendered.status).headers(rendered.headers).send(rendered.body);
}

/**
 * A whole HTTP/1.1 answer as text, for a connection no request object
 * exists for (the HTTP parser refused what arrived): `Connection: close`,
 * since what follows on that connection cannot be trusted.
 *
 * @param problem the body
 * @param headers the answer's other headers ({@link renderProblem}); values must be valid header values
 * @returns status line, headers and body, ready to write to the socket
 */
export function problemMessage(problem: ProblemDetails, headers: Readonly<Record<string, string>> = {}): string {
  const rendered = renderProblem(problem, { ...headers, connection: 'close' });
  const lines = Object.entries(rendered.headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return (
    `HTTP/1.1 ${rendered.status} ${STATUS_CODES[rendered.status] ?? 'Error'}\r\n${lines.join('')}` +
    `content-length: ${Buffer.byteLength(rendered.body)}\r\n\r\n${rendered.body}`
  );
}
