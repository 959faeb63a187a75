/**
 * `npm run report:users`: a scheduled job's real work, done as itself
 * (RFC 6749 §4.4 client credentials, no user involved): it gets a token for
 * users-service with scope `users:read`, pages through `GET /users`, and
 * prints one JSON line: `{profiles, withDisplayName, withoutDisplayName, generatedAt}`.
 *
 * Environment:
 * - `AUTH_URL` (http://localhost:3000): where the issuer's RFC 8414 metadata is, whose `token_endpoint` it uses;
 *   `TOKEN_ENDPOINT` instead names the endpoint directly (when the issuer's public URL is not reachable from here);
 * - `USERS_URL` (http://localhost:3001);
 * - `REPORT_CLIENT_ID` (`reporting-job`) and `REPORT_CLIENT_SECRET` (the development secret, README): the job's client.
 *
 * Exits 1 with one line on stderr when the issuer or users-service refuses or does not answer (10 s per request).
 * Never prints the secret or the token.
 */
const AUTH_URL = (process.env['AUTH_URL'] ?? 'http://localhost:3000').replace(/\/+$/, '');
const USERS_URL = (process.env['USERS_URL'] ?? 'http://localhost:3001').replace(/\/+$/, '');
const CLIENT_ID = process.env['REPORT_CLIENT_ID'] || 'reporting-job';
const CLIENT_SECRET = process.env['REPORT_CLIENT_SECRET'] || 'reporting-job-dev-secret-not-for-production';
const PAGE = 100;
const TIMEOUT_MS = 10_000;

/** What the report counts. */
export interface UsersReport {
  profiles: number;
  withDisplayName: number;
  withoutDisplayName: number;
  /** ISO 8601. */
  generatedAt: string;
}

async function json(response: Response, what: string): Promise<Record<string, unknown>> {
  const body = (await response.json().catch(() => null)) as Record<string, unknown> | null;
  if (!response.ok || body === null) {
    const code = body && typeof body['error'] === 'string' ? body['error'] : body?.['code'];
    throw new Error(`${what} answered ${response.status}${code ? ` ${String(code)}` : ''}`);
  }
  return body;
}

/** The token endpoint: `TOKEN_ENDPOINT`, or the issuer's RFC 8414 §3 metadata. */
async function tokenEndpoint(): Promise<string> {
  if (process.env['TOKEN_ENDPOINT']) return process.env['TOKEN_ENDPOINT'];
  const metadata = await json(
    await fetch(`${AUTH_URL}/.well-known/oauth-authorization-server`, { signal: AbortSignal.timeout(TIMEOUT_MS) }),
    'the metadata',
  );
  if (typeof metadata['token_endpoint'] !== 'string') throw new Error('the metadata names no token_endpoint');
  return metadata['token_endpoint'];
}

/** RFC 6749 §4.4.2 with client_secret_basic (§2.3.1: id and secret form-encoded before base64). */
async function clientCredentialsToken(endpoint: string): Promise<string> {
  const form = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${form(CLIENT_ID)}:${form(CLIENT_SECRET)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'users:read' }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const body = await json(response, 'the token endpoint');
  if (typeof body['access_token'] !== 'string') throw new Error('the token endpoint answered no access_token');
  return body['access_token'];
}

async function report(): Promise<UsersReport> {
  const token = await clientCredentialsToken(await tokenEndpoint());
  const counts = { profiles: 0, withDisplayName: 0 };
  for (let offset = 0; ; offset += PAGE) {
    const page = await json(
      await fetch(`${USERS_URL}/users?limit=${PAGE}&offset=${offset}`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      }),
      'users-service',
    );
    const items = Array.isArray(page['items']) ? (page['items'] as { displayName?: unknown }[]) : [];
    counts.profiles += items.length;
    counts.withDisplayName += items.filter((item) => typeof item.displayName === 'string').length;
    if (items.length < PAGE || offset + PAGE >= Number(page['total'])) break;
  }
  return {
    ...counts,
    withoutDisplayName: counts.profiles - counts.withDisplayName,
    generatedAt: new Date().toISOString(),
  };
}

report().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error: Error) => {
    process.stderr.write(`users report failed: ${error.message}\n`);
    process.exit(1);
  },
);
