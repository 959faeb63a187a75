import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE, type ErrorCode, type ProblemDetails } from '@jwt-ms/contracts';

/**
 * Answers requests that Node's HTTP parser refuses before any route runs
 * (headers over 16 KiB, malformed request lines, timeouts) with an RFC 9457
 * body like every other error, instead of Fastify's default JSON shape.
 * Used as Fastify's `clientErrorHandler`.
 *
 * @param error the parser's error (`HPE_HEADER_OVERFLOW` → 431, `ERR_HTTP_REQUEST_TIMEOUT` → 408, else 400)
 * @param socket the client connection; closed afterwards
 */
export function problemClientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, detail]: [number, ErrorCode, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'invalid_request', 'The request headers are too large.']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'invalid_request', 'The request took too long to arrive.']
        : [400, 'invalid_request', 'The request is not valid HTTP.'];
  const problem: ProblemDetails = { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail, code };
  const body = JSON.stringify(problem);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${problem.title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        'X-Content-Type-Options: nosniff\r\nX-Frame-Options: SAMEORIGIN\r\n' +
        `Content-Security-Policy: default-src 'self'\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
