import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import { TcpProxy } from '@jwt-ms/testing';
import { startStack, type Stack } from './support/stack';
import { afterRevocation, call, expectProblem } from './support/http';

/**
 * Unmodified standard OAuth clients, configured as their own documentation
 * shows (the issuer URL, a client id, a secret), get tokens from this issuer
 * and use them at the resource services; everything else comes from the
 * RFC 8414 metadata.
 *
 * The one concession is plain HTTP on loopback: oauth4webapi refuses `http:`
 * unless told `allowInsecureRequests`, Authlib's metadata model unless
 * `AUTHLIB_INSECURE_TRANSPORT` is set (each library's documented switch for
 * development).
 *
 * The development clients (README): the stack runs without OAUTH_CLIENTS.
 */
const REPORTING = { id: 'reporting-job', secret: 'reporting-job-dev-secret-not-for-production' };
const ORDERS = { id: 'orders-service', secret: 'orders-service-dev-secret-not-for-production' };
const FIRST_PARTY = 'first-party-app';
const PASSWORD = 'correct horse battery staple';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const USER_CLAIMS = ['sid', 'email', 'roles', 'auth_time', 'act'];
const AUTHLIB_CLIENT = join(__dirname, 'standard-clients', 'authlib_client.py');
/** Debian's interpreter, which python3-authlib is installed for (a pyenv python3 earlier on PATH is not). */
const DEBIAN_PYTHON = '/usr/bin/python3';

/**
 * Runs the Authlib client (standard-clients/authlib_client.py): its input as
 * JSON on stdin, its JSON report from stdout.
 *
 * @param input what the script reads (see its docstring)
 * @param timeoutMs milliseconds before it is killed
 * @returns the parsed report
 * @throws Error with its stderr when it fails, times out or prints something that is not JSON
 */
function runAuthlibClient(input: Record<string, unknown>, timeoutMs = 60_000): Promise<AuthlibReport> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      DEBIAN_PYTHON,
      [AUTHLIB_CLIENT],
      {
        timeout: timeoutMs,
        env: { PATH: process.env['PATH'] ?? '', AUTHLIB_INSECURE_TRANSPORT: '1', PYTHONDONTWRITEBYTECODE: '1' },
      },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`the Authlib client failed (${error.message}):\n${stderr}`));
        try {
          resolve(JSON.parse(stdout) as AuthlibReport);
        } catch {
          reject(new Error(`the Authlib client printed no JSON:\n${stdout.slice(0, 2000)}\n${stderr}`));
        }
      },
    );
    child.stdin?.end(JSON.stringify(input));
  });
}

/** What authlib_client.py reports, step by step. */
interface AuthlibReport {
  metadata: Record<string, string>;
  client_credentials: {
    token_type: string;
    scope: string;
    has_refresh_token: boolean;
    access_token: string;
    users_status: number;
  };
  refusal: { error: string } | null;
  introspection: {
    before: { status: number; body: Record<string, unknown> };
    revocation_status: number;
    after: { status: number; body: Record<string, unknown> };
  };
  token_exchange: { issued_token_type: string; scope: string; whoami_status: number; principal: unknown };
  refresh_token: { token_type: string; rotated: boolean; me_status: number; me_id: string };
}

describe('standard clients configured with the issuer URL, a client id and a secret', () => {
  let stack: Stack;
  let proxy: TcpProxy;
  /** The issuer identifier, as a client is configured with it. */
  let issuer: URL;
  let as: oauth.AuthorizationServer;
  let user: { email: string; id: string };
  const options = { [oauth.allowInsecureRequests]: true } as const;

  beforeAll(async () => {
    // The issuer identifier must reach the issuer (RFC 8414 §3: the metadata is fetched from it), yet each
    // service picks its own port. A forwarder listens first and is the issuer's public address, as an
    // ingress is in a deployment; it forwards to the auth service once that listens.
    let authPort = 0;
    proxy = new TcpProxy(() => authPort);
    await proxy.start();
    const issuerUrl = `http://127.0.0.1:${proxy.port}`;
    issuer = new URL(issuerUrl);
    const everyService = { AUTH_ISSUER: issuerUrl };
    stack = await startStack('sqlite', {
      'auth-service': everyService,
      'users-service': everyService,
      'orders-service': everyService,
    });
    authPort = Number(new URL(stack.auth).port);
    user = { email: `standard.${Date.now().toString(36)}@example.test`, id: '' };
    const registered = await call('POST', `${issuerUrl}/auth/register`, {
      body: { email: user.email, password: PASSWORD },
    });
    expect(registered.status).toBe(201);
    user.id = registered.body.id;
    as = await discover();
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await proxy?.stop();
  }, 60_000);

  /** RFC 8414 §3: the metadata, from the issuer identifier alone. */
  const discover = async (): Promise<oauth.AuthorizationServer> =>
    oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...options }));

  /** The first-party path to a user's first tokens (no authorization-code flow yet): `POST /auth/login`. */
  const login = async (): Promise<{ access_token: string; refresh_token: string }> => {
    const response = await call('POST', `${issuer.origin}/auth/login`, {
      body: { email: user.email, password: PASSWORD },
    });
    expect(response.status).toBe(200);
    return response.body;
  };

  const clientCredentials = async (): Promise<oauth.TokenEndpointResponse> => {
    const client: oauth.Client = { client_id: REPORTING.id };
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.ClientSecretBasic(REPORTING.secret),
      new URLSearchParams({ scope: 'users:read' }),
      options,
    );
    return oauth.processClientCredentialsResponse(as, client, response);
  };

  const introspect = async (token: string): Promise<oauth.IntrospectionResponse> => {
    const client: oauth.Client = { client_id: ORDERS.id };
    const response = await oauth.introspectionRequest(
      as,
      client,
      oauth.ClientSecretBasic(ORDERS.secret),
      token,
      options,
    );
    return oauth.processIntrospectionResponse(as, client, response);
  };

  describe('oauth4webapi', () => {
    it('discovers the issuer from its RFC 8414 metadata, the issuer identifier matching', async () => {
      const metadata = await discover();
      expect(metadata).toMatchObject({
        issuer: issuer.origin,
        token_endpoint: `${issuer.origin}/oauth/token`,
        revocation_endpoint: `${issuer.origin}/oauth/revoke`,
        introspection_endpoint: `${issuer.origin}/oauth/introspect`,
        jwks_uri: `${issuer.origin}/.well-known/jwks.json`,
      });
      expect(metadata.grant_types_supported).toEqual(expect.arrayContaining(['client_credentials', TOKEN_EXCHANGE]));
    });

    it('client_credentials (client_secret_basic): a service token that lists users, with no user in it', async () => {
      const tokens = await clientCredentials();
      expect(tokens).toMatchObject({ token_type: 'bearer', scope: 'users:read', expires_in: expect.any(Number) });
      expect(tokens.refresh_token).toBeUndefined();
      const claims = decodeJwt(tokens.access_token);
      expect(claims).toMatchObject({ iss: issuer.origin, sub: REPORTING.id, client_id: REPORTING.id });
      for (const claim of USER_CLAIMS) expect(claims).not.toHaveProperty(claim);
      const users = await call('GET', `${stack.users}/users`, { token: tokens.access_token });
      expect(users.status).toBe(200);
      expect(users.body).toMatchObject({ items: expect.any(Array), total: expect.any(Number) });
    });

    it('refresh_token (public client, client_id only): a new pair whose access token works at the users service', async () => {
      const login1 = await login();
      const client: oauth.Client = { client_id: FIRST_PARTY };
      const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), login1.refresh_token, options);
      const tokens = await oauth.processRefreshTokenResponse(as, client, response);
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.refresh_token).toEqual(expect.any(String));
      expect(tokens.refresh_token).not.toBe(login1.refresh_token);
      expect(decodeJwt(tokens.access_token)).toMatchObject({ iss: issuer.origin, sub: user.id });
      const me = await call('GET', `${stack.users}/users/me`, { token: tokens.access_token });
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ id: user.id });
    });

    it('token exchange (genericTokenEndpointRequest, client_secret_post): a delegated token that names its actor', async () => {
      // A login token is issued for every service the first-party client may reach, orders-service among them:
      // the audience the dev registry demands of orders-service's subject tokens (subject_token_audience).
      const subject = await login();
      expect(decodeJwt(subject.access_token).aud).toEqual(expect.arrayContaining(['orders-service']));
      const client: oauth.Client = { client_id: ORDERS.id };
      const response = await oauth.genericTokenEndpointRequest(
        as,
        client,
        oauth.ClientSecretPost(ORDERS.secret),
        TOKEN_EXCHANGE,
        {
          subject_token: subject.access_token,
          subject_token_type: ACCESS_TOKEN_TYPE,
          audience: 'users-service',
        },
        options,
      );
      const tokens = await oauth.processGenericTokenEndpointResponse(as, client, response);
      expect(tokens).toMatchObject({
        token_type: 'bearer',
        scope: 'profile:read',
        issued_token_type: ACCESS_TOKEN_TYPE,
      });
      const whoami = await call('GET', `${stack.users}/whoami`, { token: tokens.access_token });
      expect(whoami.status).toBe(200);
      expect(whoami.body.principal).toMatchObject({
        kind: 'user',
        subject: user.id,
        clientId: ORDERS.id,
        audience: ['users-service'],
        scopes: ['profile:read'],
        actor: { subject: ORDERS.id },
      });
    });

    it('introspection and revocation: active, revoked, then inactive and refused by the users service', async () => {
      const tokens = await clientCredentials();
      await expect(introspect(tokens.access_token)).resolves.toMatchObject({
        active: true,
        sub: REPORTING.id,
        client_id: REPORTING.id,
        scope: 'users:read',
        iss: issuer.origin,
      });
      expect((await call('GET', `${stack.users}/users`, { token: tokens.access_token })).status).toBe(200);

      const client: oauth.Client = { client_id: REPORTING.id };
      const response = await oauth.revocationRequest(
        as,
        client,
        oauth.ClientSecretBasic(REPORTING.secret),
        tokens.access_token,
        options,
      );
      await expect(oauth.processRevocationResponse(response)).resolves.toBeUndefined();

      expectProblem(
        await afterRevocation('GET', `${stack.users}/users`, { token: tokens.access_token }),
        401,
        'invalid_token',
      );
      await expect(introspect(tokens.access_token)).resolves.toEqual({ active: false });
    });

    it('revocation by the public client: a refresh token ends its session, its access token refused', async () => {
      const session = await login();
      await expect(introspect(session.refresh_token)).resolves.toMatchObject({ active: true, sub: user.id });
      const client: oauth.Client = { client_id: FIRST_PARTY };
      const response = await oauth.revocationRequest(as, client, oauth.None(), session.refresh_token, {
        ...options,
        additionalParameters: { token_type_hint: 'refresh_token' },
      });
      await expect(oauth.processRevocationResponse(response)).resolves.toBeUndefined();
      expectProblem(
        await afterRevocation('GET', `${stack.users}/users/me`, { token: session.access_token }),
        401,
        'invalid_token',
      );
      await expect(introspect(session.refresh_token)).resolves.toEqual({ active: false });
      await expect(introspect(session.access_token)).resolves.toEqual({ active: false });
    });

    it('a refusal reaches the client as the RFC 6749 §5.2 error it names', async () => {
      const client: oauth.Client = { client_id: REPORTING.id };
      const response = await oauth.clientCredentialsGrantRequest(
        as,
        client,
        oauth.ClientSecretBasic(REPORTING.secret),
        new URLSearchParams({ scope: 'users:admin' }),
        options,
      );
      const refusal = await oauth
        .processClientCredentialsResponse(as, client, response)
        .catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(oauth.ResponseBodyError);
      expect(refusal).toMatchObject({ error: 'invalid_scope', status: 400 });
    });
  });

  describe('Authlib (Python, python3-authlib)', () => {
    let report: AuthlibReport;
    let session: { access_token: string; refresh_token: string };

    beforeAll(async () => {
      session = await login();
      report = await runAuthlibClient({
        issuer: issuer.origin,
        users_url: stack.users,
        reporting: REPORTING,
        orders: ORDERS,
        public_client_id: FIRST_PARTY,
        subject_token: session.access_token,
        refresh_token: session.refresh_token,
      });
    }, 90_000);

    it('finds every endpoint in the metadata, fetched from the RFC 8414 §3.1 well-known URL', () => {
      expect(report.metadata).toEqual({
        issuer: issuer.origin,
        token_endpoint: `${issuer.origin}/oauth/token`,
        revocation_endpoint: `${issuer.origin}/oauth/revoke`,
        introspection_endpoint: `${issuer.origin}/oauth/introspect`,
        jwks_uri: `${issuer.origin}/.well-known/jwks.json`,
      });
    });

    it('client_credentials (client_secret_basic): a service token that lists users, with no user in it', () => {
      expect(report.client_credentials).toMatchObject({
        token_type: 'Bearer',
        scope: 'users:read',
        has_refresh_token: false,
        users_status: 200,
      });
      const claims = decodeJwt(report.client_credentials.access_token);
      expect(claims).toMatchObject({ iss: issuer.origin, sub: REPORTING.id, client_id: REPORTING.id });
      for (const claim of USER_CLAIMS) expect(claims).not.toHaveProperty(claim);
    });

    it('reads a refusal as its RFC 6749 §5.2 error', () => {
      expect(report.refusal).toEqual({ error: 'invalid_scope' });
    });

    it('introspects (active), revokes, introspects again (inactive); the users service refuses the token', async () => {
      expect(report.introspection.before).toMatchObject({
        status: 200,
        body: { active: true, sub: REPORTING.id, client_id: REPORTING.id, scope: 'users:read' },
      });
      expect(report.introspection.revocation_status).toBe(200);
      expect(report.introspection.after).toEqual({ status: 200, body: { active: false } });
      expectProblem(
        await afterRevocation('GET', `${stack.users}/users`, { token: report.client_credentials.access_token }),
        401,
        'invalid_token',
      );
    });

    it('token exchange (client_secret_post): the users service sees the user, with orders-service acting', () => {
      expect(report.token_exchange).toMatchObject({
        issued_token_type: ACCESS_TOKEN_TYPE,
        scope: 'profile:read',
        whoami_status: 200,
        principal: {
          kind: 'user',
          subject: user.id,
          clientId: ORDERS.id,
          audience: ['users-service'],
          actor: { subject: ORDERS.id },
        },
      });
    });

    it('refresh_token (public client, "none"): a rotated pair whose access token reads the profile', () => {
      expect(report.refresh_token).toEqual({ token_type: 'Bearer', rotated: true, me_status: 200, me_id: user.id });
    });
  });
});
