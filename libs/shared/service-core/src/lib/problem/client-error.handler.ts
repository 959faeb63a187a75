import type { Socket } from 'node:net';
import { problemMessage, problemOf } from './problem-response';

/**
 * Builds Fastify's `clientErrorHandler`: it answers requests that Node's
 * HTTP parser refuses before any route runs (headers over 16 KiB, malformed
 * request lines, timeouts) with an RFC 9457 problem like every other error,
 * instead of Fastify's default JSON shape, and closes the connection.
 *
 * @param headers the headers every answer carries (the security headers, the instance id)
 * @returns the handler: `HPE_HEADER_OVERFLOW` → 431, `ERR_HTTP_REQUEST_TIMEOUT` → 408, anything else → 400;
 *   a connection the client already reset gets no answer
 */
export function problemClientErrorHandler(
  headers: Readonly<Record<string, string>>,
): (error: NodeJS.ErrnoException, socket: Socket) => void {
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const problem =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? problemOf(431, 'invalid_request', 'The request headers are too large.')
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? problemOf(408, 'invalid_request', 'The request took too long to arrive.')
          : problemOf(400, 'invalid_request', 'The request is not valid HTTP.');
    if (socket.writable) socket.write(problemMessage(problem, headers));
    socket.destroy();
  };
}
