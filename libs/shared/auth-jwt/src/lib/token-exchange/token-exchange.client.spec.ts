import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ACCESS_TOKEN_TYPE,
  EXCHANGED_TOKEN_REUSE_MARGIN_MS,
  TOKEN_EXCHANGE_GRANT_TYPE,
  TokenEndpointUnavailableError,
  TokenExchangeClient,
  TokenExchangeRefusedError,
} from './token-exchange.client';

type Handler = (form: URLSearchParams, request: IncomingMessage, response: ServerResponse) => void;

/** A token endpoint on a real socket (port 0, read back), answering as each test says. */
class TokenEndpoint {
  private server!: Server;
  handler: Handler = () => undefined;
  readonly requests: URLSearchParams[] = [];
  readonly authorizations: (string | undefined)[] = [];
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        const form = new URLSearchParams(body);
        this.requests.push(form);
        this.authorizations.push(request.headers.authorization);
        this.handler(form, request, response);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/oauth/token`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const answer = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
};
const issued = (token: string, expiresIn = 300) => ({
  access_token: token,
  issued_token_type: ACCESS_TOKEN_TYPE,
  token_type: 'Bearer',
  expires_in: expiresIn,
});
const request = { audience: 'users-service', scope: 'profile:read' };
const deadline = () => AbortSignal.timeout(5000);

describe('TokenExchangeClient (RFC 8693, against a token endpoint on a socket)', () => {
  const endpoint = new TokenEndpoint();
  let clock: number;
  const client = () =>
    new TokenExchangeClient({
      tokenEndpoint: endpoint.url,
      clientId: 'orders service',
      clientSecret: 'se:cret',
      now: () => clock,
    });

  beforeAll(() => endpoint.start(), 30_000);
  afterAll(() => endpoint.stop(), 30_000);
  beforeEach(() => {
    clock = 1_800_000_000_000;
    endpoint.requests.length = 0;
    endpoint.authorizations.length = 0;
  });

  it('sends the RFC 8693 §2.1 request with client_secret_basic, form-encoded before base64 (RFC 6749 §2.3.1)', async () => {
    endpoint.handler = (_form, _request, response) => answer(response, 200, issued('exchanged-1'));
    expect(await client().tokenFor('subject-1', request, deadline())).toBe('exchanged-1');
    expect(Object.fromEntries(endpoint.requests[0])).toEqual({
      grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
      subject_token: 'subject-1',
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
      audience: 'users-service',
      scope: 'profile:read',
    });
    expect(endpoint.authorizations[0]).toBe(`Basic ${Buffer.from('orders+service:se%3Acret').toString('base64')}`);
  });

  it('answers a burst for one subject token with one exchange, and each subject token with its own', async () => {
    let issuedCount = 0;
    endpoint.handler = (form, _request, response) =>
      setTimeout(() => answer(response, 200, issued(`for ${form.get('subject_token')} #${++issuedCount}`)), 50);
    const exchange = client();
    const burst = await Promise.all(Array.from({ length: 20 }, () => exchange.tokenFor('alice', request, deadline())));
    expect(new Set(burst)).toEqual(new Set(['for alice #1']));
    expect(await exchange.tokenFor('bob', request, deadline())).toBe('for bob #2');
    expect(await exchange.tokenFor('alice', { ...request, scope: 'profile:write' }, deadline())).toBe('for alice #3');
    expect(endpoint.requests).toHaveLength(3);
  });

  it('exchanges again once the cached token is within the reuse margin of its expiry', async () => {
    let issuedCount = 0;
    endpoint.handler = (_form, _request, response) => answer(response, 200, issued(`token #${++issuedCount}`, 60));
    const exchange = client();
    expect(await exchange.tokenFor('alice', request, deadline())).toBe('token #1');
    clock += 60_000 - EXCHANGED_TOKEN_REUSE_MARGIN_MS - 1;
    expect(await exchange.tokenFor('alice', request, deadline())).toBe('token #1');
    clock += 1;
    expect(await exchange.tokenFor('alice', request, deadline())).toBe('token #2');
  });

  it('keeps at most maxEntries, dropping the oldest', async () => {
    endpoint.handler = (form, _request, response) => answer(response, 200, issued(`for ${form.get('subject_token')}`));
    const exchange = new TokenExchangeClient({
      tokenEndpoint: endpoint.url,
      clientId: 'c',
      clientSecret: 's',
      maxEntries: 3,
      now: () => clock,
    });
    for (const subject of ['a', 'b', 'c', 'd']) await exchange.tokenFor(subject, request, deadline());
    expect(exchange.size).toBe(3);
    await exchange.tokenFor('a', request, deadline());
    expect(endpoint.requests).toHaveLength(5);
  });

  it('reports an RFC 6749 §5.2 refusal with its code, and does not cache it', async () => {
    endpoint.handler = (_form, _request, response) => answer(response, 400, { error: 'invalid_grant' });
    const exchange = client();
    await expect(exchange.tokenFor('alice', request, deadline())).rejects.toEqual(
      new TokenExchangeRefusedError('invalid_grant', 400),
    );
    endpoint.handler = (_form, _request, response) => answer(response, 200, issued('now it works'));
    expect(await exchange.tokenFor('alice', request, deadline())).toBe('now it works');
  });

  it.each([
    ['a token type other than the one asked for', { ...issued('t'), issued_token_type: 'urn:x' }],
    ['no access_token', { ...issued('t'), access_token: undefined }],
    ['a token_type other than Bearer', { ...issued('t'), token_type: 'DPoP' }],
    ['no expires_in', { ...issued('t'), expires_in: undefined }],
    ['a negative expires_in', issued('t', -1)],
  ])('refuses a 200 answer with %s', async (_case, body) => {
    endpoint.handler = (_form, _request, response) => answer(response, 200, body);
    await expect(client().tokenFor('alice', request, deadline())).rejects.toEqual(
      new TokenExchangeRefusedError('invalid_response', 200),
    );
  });

  it('reports a 5xx and a deadline as unavailable, within the deadline', async () => {
    endpoint.handler = (_form, _request, response) => answer(response, 503, { error: 'temporarily_unavailable' });
    await expect(client().tokenFor('alice', request, deadline())).rejects.toEqual(
      new TokenEndpointUnavailableError('server_error'),
    );
    endpoint.handler = () => undefined; // never answers
    const started = performance.now();
    await expect(client().tokenFor('alice', request, AbortSignal.timeout(200))).rejects.toEqual(
      new TokenEndpointUnavailableError('timeout'),
    );
    // Bounded by the deadline, not by a socket timeout (generous for a loaded machine).
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('reports a refused connection as unreachable', async () => {
    // Nothing listens on port 1 (other suites rely on it too).
    const exchange = new TokenExchangeClient({
      tokenEndpoint: 'http://127.0.0.1:1/oauth/token',
      clientId: 'c',
      clientSecret: 's',
    });
    await expect(exchange.tokenFor('alice', request, deadline())).rejects.toEqual(
      new TokenEndpointUnavailableError('unreachable'),
    );
  });
});
