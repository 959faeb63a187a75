import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TokenExchangeClient } from '@jwt-ms/auth-jwt';
import { TestTokenIssuer, testPrincipal } from '@jwt-ms/auth-jwt/testing';
import { loadOrdersServiceConfig } from '../orders-service.config';
import { CustomerDirectory } from './customer-directory';

/**
 * An issuer's token endpoint and users-service's `GET /users/me` on one real socket (port 0, read back): the
 * endpoint answers exchanged tokens minted like the issuer's, the profile answers only the token it issued.
 */
class Dependencies {
  private server!: Server;
  readonly issued: string[] = [];
  url = '';

  constructor(private readonly issuer: TestTokenIssuer) {}

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', async () => {
        const json = (status: number, value: unknown) => {
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(JSON.stringify(value));
        };
        if (request.method === 'POST' && request.url === '/oauth/token') {
          const subject = new URLSearchParams(body).get('subject_token') ?? '';
          const token = await this.issuer.mintExchanged({
            subject,
            claims: { aud: new URLSearchParams(body).get('audience') },
          });
          this.issued.push(token);
          return json(200, {
            access_token: token,
            issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
            token_type: 'Bearer',
            expires_in: 300,
          });
        }
        const bearer = request.headers.authorization?.replace(/^Bearer /, '');
        const index = this.issued.indexOf(bearer ?? '');
        if (request.url === '/users/me' && index >= 0) {
          // The subject of the token is the subject token here (see above): the profile of that "user".
          const claims = JSON.parse(Buffer.from((bearer as string).split('.')[1], 'base64url').toString('utf8'));
          return json(200, { id: claims.sub, displayName: 'Ada Lovelace' });
        }
        json(401, {});
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('CustomerDirectory.lookUp and the exchange view (against sockets)', () => {
  let dependencies: Dependencies;
  const directory = (env: Record<string, string> = {}) => {
    const config = loadOrdersServiceConfig({
      NODE_ENV: 'test',
      SQLITE_PATH: ':memory:',
      USERS_SERVICE_URL: dependencies.url,
      AUTH_JWKS_URI: `${dependencies.url}/.well-known/jwks.json`,
      ...env,
    });
    const exchange = new TokenExchangeClient({
      tokenEndpoint: config.AUTH_TOKEN_ENDPOINT,
      clientId: config.OAUTH_CLIENT_ID,
      clientSecret: config.OAUTH_CLIENT_SECRET,
    });
    return new CustomerDirectory(exchange, config);
  };

  beforeAll(async () => {
    dependencies = new Dependencies(await TestTokenIssuer.create());
    await dependencies.start();
  }, 30_000);
  afterAll(() => dependencies.stop(), 30_000);

  it('answers the name alone when the view is not asked for', async () => {
    // The "user" is named after the subject token, so that the profile's id matches the exchanged `sub`.
    const customer = testPrincipal({ subject: 'subject-token-1' });
    const found = await directory().lookUp(customer, 'subject-token-1');
    expect(found).toEqual({ displayName: 'Ada Lovelace' });
    expect('exchange' in found).toBe(false);
  });

  it('shows the exchanged token the call was made with, decoded, and no part of it encoded', async () => {
    const customer = testPrincipal({ subject: 'subject-token-2' });
    const found = await directory().lookUp(customer, 'subject-token-2', { explainExchange: true });
    const token = dependencies.issued.at(-1) as string;
    expect(found.displayName).toBe('Ada Lovelace');
    expect(found.exchange).toMatchObject({
      header: { alg: 'ES256', typ: 'at+jwt', kid: expect.any(String) },
      claims: { sub: 'subject-token-2', aud: 'users-service', scope: 'profile:read', act: { sub: 'orders-service' } },
      audience: 'users-service',
      scope: 'profile:read',
    });
    const shown = JSON.stringify(found);
    for (const segment of token.split('.')) expect(shown).not.toContain(segment);
  });

  it('shows a cached exchanged token too: the same token, one exchange', async () => {
    const lookUps = directory();
    const customer = testPrincipal({ subject: 'subject-token-3' });
    const before = dependencies.issued.length;
    const first = await lookUps.lookUp(customer, 'subject-token-3', { explainExchange: true });
    const second = await lookUps.lookUp(customer, 'subject-token-3', { explainExchange: true });
    expect(dependencies.issued.length - before).toBe(1);
    expect(second.exchange?.claims?.['jti']).toEqual(expect.any(String));
    expect(second.exchange).toEqual(first.exchange);
  });

  it('answers exchange: null, and makes no call, when names are off', async () => {
    const before = dependencies.issued.length;
    const off = directory({ CUSTOMER_NAMES: 'off' });
    const customer = testPrincipal();
    expect(await off.lookUp(customer, 'subject-token-4', { explainExchange: true })).toEqual({
      displayName: null,
      exchange: null,
    });
    expect(await off.lookUp(customer, 'subject-token-4')).toEqual({ displayName: null });
    expect(dependencies.issued.length).toBe(before);
  });
});
