import { createConnection } from 'node:net';

/** A response with its JSON body parsed (or null when there is none). */
export interface JsonResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/**
 * Sends one JSON request.
 *
 * @param method HTTP method
 * @param url absolute URL
 * @param options.token bearer access token
 * @param options.body JSON body
 */
export async function call(
  method: string,
  url: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers['authorization'] = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(url, {
    method,
    headers,
    body:
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: response.status, headers: response.headers, body };
}

/**
 * Expects an RFC 9457 problem details answer with this status and code. From
 * an OAuth endpoint (`instance` under `/oauth/`), the same body as RFC 6749
 * §5.2 says an OAuth error goes: `application/json`, with `error` on a 4xx.
 */
export function expectProblem(response: JsonResponse, status: number, code: string): void {
  expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
  const oauth = typeof response.body?.instance === 'string' && response.body.instance.startsWith('/oauth/');
  const mediaType = (response.headers.get('content-type') ?? '').split(';')[0];
  expect(mediaType).toBe(oauth ? 'application/json' : 'application/problem+json');
  if (oauth && status < 500) expect(response.body.error).toEqual(expect.any(String));
  expect(response.body).toMatchObject({
    type: 'about:blank',
    status,
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(JSON.stringify(response.body)).not.toMatch(/\bat [\w.<>]+ \(|node_modules|Error:/);
}

/**
 * Sends one GET over a raw socket, header bytes as UTF-8: for header values
 * that fetch refuses to send (characters above U+00FF), as an attacker's own
 * client would send them.
 */
export function rawGet(url: string, headers: Record<string, string>): Promise<JsonResponse> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: hostname, port: Number(port) }, () => {
      const lines = [`GET ${pathname} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close'];
      for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
      socket.end(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'));
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...headerLines] = head.split('\r\n');
      const responseHeaders = new Headers();
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        responseHeaders.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      }
      const body = rest.join('\r\n\r\n');
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(body);
      } catch {
        parsed = body;
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers: responseHeaders, body: parsed });
    });
  });
}

/**
 * {@link call} for a request that follows a revocation made on another
 * process: the revocation reaches each service's in-memory list by Redis
 * pub/sub, in about a millisecond, so a request sent right after the
 * revocation's answer may overtake it. Asks again while the answer is a
 * success, for at most `withinMs` milliseconds (a revocation must land well
 * within that), and returns the last answer.
 */
export async function afterRevocation(
  method: string,
  url: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  withinMs = 1000,
): Promise<JsonResponse> {
  const started = Date.now();
  for (;;) {
    const response = await call(method, url, options);
    if (response.status >= 300 || Date.now() - started > withinMs) return response;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
