import { request } from 'node:http';
import type { JsonResponse } from './http';

let next = 0;

/**
 * A loopback source address no other call of this process has used
 * (127.1.0.1, 127.1.0.2, …; Linux routes all of 127.0.0.0/8 to `lo`): a
 * distinct client IP as the server's socket sees it, with no
 * `X-Forwarded-For`, so per-IP limits can be tested whatever proxies a
 * service trusts. 127.0.0.1, every other test's address, is never returned.
 */
export function freshClientAddress(): string {
  next += 1;
  return `127.1.${Math.floor(next / 250)}.${(next % 250) + 1}`;
}

/**
 * Sends one request from the given local address.
 *
 * @param from the source address (see {@link freshClientAddress})
 * @param method HTTP method
 * @param url absolute `http:` URL of a service listening on 127.0.0.1
 * @param options.token bearer access token
 * @param options.json a JSON body
 * @param options.form a form-urlencoded body (RFC 7009 / RFC 7662 requests)
 * @param options.headers more request headers
 * @returns the status, headers and parsed body (null when empty, the text when not JSON)
 */
export function callFrom(
  from: string,
  method: string,
  url: string,
  options: { token?: string; json?: unknown; form?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers['authorization'] = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  }
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers, localAddress: from }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('error', reject);
      incoming.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(incoming.headers)) {
          for (const one of Array.isArray(value) ? value : [value ?? '']) responseHeaders.append(name, one);
        }
        let parsed: unknown = null;
        if (text) {
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = text;
          }
        }
        resolve({ status: incoming.statusCode ?? 0, headers: responseHeaders, body: parsed });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
