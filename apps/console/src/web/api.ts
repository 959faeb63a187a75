/**
 * Calls from the page to the services, with the bearer token (RFC 6750 §2.1)
 * in the Authorization header, never in a URL. Each answer is kept as the
 * page shows it: status, which replica served it (`X-Instance-Id`), the time
 * it took, and the JSON body.
 */

/** One answer as the page shows it. */
export interface ApiAnswer {
  method: string;
  url: string;
  status: number;
  /** The replica that answered (`X-Instance-Id`), or `?` when the header was not exposed. */
  instance: string;
  /** Round trip as the page measured it, in milliseconds. */
  ms: number;
  /** The parsed JSON body, or the text, or null for an empty body. */
  body: unknown;
  /** `WWW-Authenticate` of a 401/403 (RFC 6750 §3). */
  challenge: string | null;
}

/**
 * Calls one API.
 *
 * @param method HTTP method
 * @param url absolute URL, or a path for the page's own origin
 * @param token the access token, or undefined for a public call
 * @param body a JSON body, or undefined
 * @returns the answer (a 4xx or 5xx is an answer, not an error)
 * @throws TypeError when the network or CORS refuses the request (fetch's own error)
 */
export async function callApi(method: string, url: string, token?: string, body?: unknown): Promise<ApiAnswer> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (token) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const started = performance.now();
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    // Credentials travel as the Authorization header only: no cookie of the issuer or the APIs.
    credentials: 'omit',
    cache: 'no-store',
  });
  const text = await response.text();
  const ms = Math.round(performance.now() - started);
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return {
    method,
    url,
    status: response.status,
    instance: response.headers.get('x-instance-id') ?? '?',
    ms,
    body: parsed,
    challenge: response.headers.get('www-authenticate'),
  };
}
