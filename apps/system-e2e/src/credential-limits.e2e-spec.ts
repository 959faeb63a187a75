import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { REVOCATION_ENTRIES_KEY } from '@jwt-ms/contracts';
import { PrivateRedis } from '@jwt-ms/testing';
import { clientRegistry } from './support/oauth-clients';
import { startStack, type Stack } from './support/stack';
import { afterRevocation, expectProblem, type JsonResponse } from './support/http';
import { callFrom, freshClientAddress } from './support/client-address';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a new and equally long passphrase';
const PER_IP = 8;
const PER_ACCOUNT = 4;
const PER_SESSION = 3;
const PER_SUBJECT = 4;
/** Locked out by one test; the others authenticate as {@link CLIENT}. */
const VICTIM = { id: 'orders-service', secret: 'orders-service-secret-for-tests' };
const CLIENT = { id: 'users-service', secret: 'users-service-secret-for-tests' };
const basic = (client: { id: string; secret: string }) =>
  `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;

/**
 * Every client here has an address of its own (127.1.x.y, see
 * freshClientAddress) and the stack has a Redis of its own, so the counts
 * start at zero and no other suite's requests are charged to them.
 */
describe('credential limits: password checks, client secrets and revocations per IP and per account', () => {
  const redis = new PrivateRedis();
  let redisClient: ReturnType<typeof createClient>;
  let stack: Stack;

  beforeAll(async () => {
    await redis.start();
    redisClient = createClient({ url: redis.url });
    await redisClient.connect();
    const env = { REDIS_URL: redis.url };
    stack = await startStack('sqlite', {
      'auth-service': {
        ...env,
        AUTH_RATE_LIMIT_PER_IP: String(PER_IP),
        AUTH_RATE_LIMIT_PER_ACCOUNT: String(PER_ACCOUNT),
        // One window for the whole suite: no count resets between an attempt and the assertion on the next one.
        AUTH_RATE_LIMIT_WINDOW_SECONDS: '3600',
        OAUTH_CLIENTS: await clientRegistry([VICTIM, CLIENT]),
        REVOCATION_TOKENS_PER_SESSION: String(PER_SESSION),
        REVOCATION_TOKENS_PER_SUBJECT: String(PER_SUBJECT),
      },
      'users-service': env,
      'orders-service': env,
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await redisClient?.quit();
    await redis.stop();
  }, 60_000);

  /** Registers and logs in from a fresh address: two charges to that address and to the email. */
  const newUser = async () => {
    const email = `limits.${randomUUID()}@example.test`;
    const from = freshClientAddress();
    expect(
      (await callFrom(from, 'POST', `${stack.auth}/auth/register`, { json: { email, password: PASSWORD } })).status,
    ).toBe(201);
    const login = await callFrom(from, 'POST', `${stack.auth}/auth/login`, { json: { email, password: PASSWORD } });
    expect(login.status).toBe(200);
    return { email, access: login.body.access_token as string, refresh: login.body.refresh_token as string };
  };
  const changePassword = (from: string, access: string, current: string) =>
    callFrom(from, 'POST', `${stack.auth}/auth/password`, {
      token: access,
      json: { current_password: current, new_password: NEW_PASSWORD },
    });
  const oauth = (from: string, path: 'introspect' | 'revoke', form: Record<string, string>, authorization?: string) =>
    callFrom(from, 'POST', `${stack.auth}/oauth/${path}`, { form, headers: authorization ? { authorization } : {} });
  const expectLimited = (response: JsonResponse, oauthError: boolean) => {
    expectProblem(response, 429, 'rate_limited');
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    if (oauthError)
      expect(response.body).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) });
  };

  describe('POST /auth/password (a password oracle for whoever holds an access token)', () => {
    it('limits attempts per caller, from any address; the right password is refused too while limited', async () => {
      const user = await newUser();
      for (let attempt = 0; attempt < PER_ACCOUNT; attempt += 1) {
        expectProblem(
          await changePassword(freshClientAddress(), user.access, `wrong guess ${attempt}`),
          403,
          'invalid_credentials',
        );
      }
      expectLimited(await changePassword(freshClientAddress(), user.access, PASSWORD), false);
      // Nothing changed: the old password still logs in, the access token still works.
      const login = await callFrom(freshClientAddress(), 'POST', `${stack.auth}/auth/login`, {
        json: { email: user.email, password: PASSWORD },
      });
      expect(login.status).toBe(200);
      expect(
        (await callFrom(freshClientAddress(), 'GET', `${stack.users}/users/me`, { token: user.access })).status,
      ).toBe(200);
    });

    it('limits attempts per address across accounts, in one count with login', async () => {
      const from = freshClientAddress();
      const users = [await newUser(), await newUser(), await newUser()];
      const statuses: number[] = [];
      for (let attempt = 0; attempt < PER_IP; attempt += 1) {
        statuses.push((await changePassword(from, users[attempt % users.length].access, 'wrong guess')).status);
      }
      expect(statuses).toEqual(Array(PER_IP).fill(403));
      expectLimited(await changePassword(from, users[0].access, PASSWORD), false);
      expectLimited(
        await callFrom(from, 'POST', `${stack.auth}/auth/login`, {
          json: { email: users[1].email, password: PASSWORD },
        }),
        false,
      );
      // Another address is not affected.
      expect((await changePassword(freshClientAddress(), users[2].access, 'wrong guess')).status).toBe(403);
    });
  });

  describe('client secrets (RFC 7662 introspection, RFC 7009 revocation)', () => {
    it('limits failed authentications per client_id, from any address, with an RFC 6749 error member; never from where the client works', async () => {
      const user = await newUser();
      // The real resource server has authenticated from its own address: the attack below cannot lock it out.
      const home = freshClientAddress();
      expect((await oauth(home, 'introspect', { token: user.access }, basic(VICTIM))).status).toBe(200);
      for (let attempt = 0; attempt < PER_ACCOUNT; attempt += 1) {
        const wrong = basic({ id: VICTIM.id, secret: `wrong-secret-${attempt}-${randomUUID()}` });
        const response = await oauth(
          freshClientAddress(),
          attempt % 2 ? 'revoke' : 'introspect',
          { token: user.access },
          wrong,
        );
        expectProblem(response, 401, 'invalid_client');
      }
      // The right secret is refused while limited: the comparison does not run.
      expectLimited(await oauth(freshClientAddress(), 'introspect', { token: user.access }, basic(VICTIM)), true);
      expectLimited(await oauth(freshClientAddress(), 'revoke', { token: user.access }, basic(VICTIM)), true);
      expectLimited(
        await oauth(freshClientAddress(), 'introspect', {
          token: user.access,
          client_id: VICTIM.id,
          client_secret: VICTIM.secret,
        }),
        true,
      );
      // Another client is not affected.
      expect((await oauth(freshClientAddress(), 'introspect', { token: user.access }, basic(CLIENT))).body.active).toBe(
        true,
      );
      // And the victim, from where it authenticated before, is still served.
      expect((await oauth(home, 'introspect', { token: user.access }, basic(VICTIM))).body.active).toBe(true);
      expect((await oauth(home, 'revoke', { token: user.access }, basic(VICTIM))).status).toBe(200);
    });

    it('limits failed authentications per address, whatever ids it invents; a client that authenticates is never limited', async () => {
      const user = await newUser();
      const busy = freshClientAddress();
      for (let request = 0; request < 3 * PER_IP; request += 1) {
        expect((await oauth(busy, 'introspect', { token: user.access }, basic(CLIENT))).status).toBe(200);
      }
      const guesser = freshClientAddress();
      for (let attempt = 0; attempt < PER_IP; attempt += 1) {
        const invented = { id: `invented-${attempt}`, secret: 'not-the-secret-of-anyone' };
        expectProblem(
          await oauth(guesser, 'introspect', { token: user.access }, basic(invented)),
          401,
          'invalid_client',
        );
      }
      expectLimited(await oauth(guesser, 'introspect', { token: user.access }, basic(CLIENT)), true);
      expect((await oauth(busy, 'introspect', { token: user.access }, basic(CLIENT))).status).toBe(200);
    });

    it('does not let failures claiming the public client hold back its revocations', async () => {
      for (let attempt = 0; attempt < 2 * PER_ACCOUNT; attempt += 1) {
        const response = await oauth(freshClientAddress(), 'revoke', {
          token: 'x',
          client_id: 'first-party-app',
          client_secret: `guess-${attempt}`,
        });
        expectProblem(response, 401, 'invalid_client');
      }
      const user = await newUser();
      expect(
        (await oauth(freshClientAddress(), 'revoke', { token: user.access, client_id: 'first-party-app' })).status,
      ).toBe(200);
      expect((await afterRevocation('GET', `${stack.users}/users/me`, { token: user.access })).status).toBe(401);
    });
  });

  describe('the revocation list grows at most by a bounded amount per user', () => {
    const indexSize = () => redisClient.hLen(REVOCATION_ENTRIES_KEY);

    /**
     * Refreshes and revokes the new access token (anonymously, as the public
     * client) until the refresh is refused, at most `turns` times.
     *
     * @returns the revoked access tokens and the refusing refresh's answer (null if none)
     */
    const refreshAndRevoke = async (refreshToken: string, turns: number) => {
      const from = freshClientAddress();
      const revoked: string[] = [];
      let current = refreshToken;
      for (let turn = 0; turn < turns; turn += 1) {
        const refreshed = await callFrom(from, 'POST', `${stack.auth}/auth/refresh`, {
          json: { refresh_token: current },
        });
        if (refreshed.status !== 200) return { revoked, refused: refreshed };
        const revocation = await oauth(from, 'revoke', {
          token: refreshed.body.access_token,
          client_id: 'first-party-app',
        });
        expect(revocation.status).toBe(200);
        revoked.push(refreshed.body.access_token);
        current = refreshed.body.refresh_token;
      }
      return { revoked, refused: null };
    };

    it('collapses a loop of refresh and RFC 7009 revoke into its session, and its subject into one entry per session', async () => {
      const user = await newUser();
      const before = await indexSize();

      // One session: PER_SESSION token entries, then the next revocation ends the session (one sid entry).
      const first = await refreshAndRevoke(user.refresh, 20);
      expect(first.revoked.length).toBe(PER_SESSION + 1);
      expect(first.refused).not.toBeNull();
      expectProblem(first.refused as JsonResponse, 400, 'invalid_grant');
      expect((await indexSize()) - before).toBe(PER_SESSION + 1);

      // More sessions of the same subject: past PER_SUBJECT token entries, each session adds one entry.
      const sessions = [first];
      for (let login = 0; login < 2; login += 1) {
        const response = await callFrom(freshClientAddress(), 'POST', `${stack.auth}/auth/login`, {
          json: { email: user.email, password: PASSWORD },
        });
        expect(response.status).toBe(200);
        sessions.push(await refreshAndRevoke(response.body.refresh_token, 20));
      }
      expect(sessions.map((session) => session.revoked.length)).toEqual([
        PER_SESSION + 1,
        PER_SUBJECT - PER_SESSION + 1,
        1,
      ]);
      expect((await indexSize()) - before).toBe(PER_SUBJECT + sessions.length);

      // Every revoked token is refused, on every service, and revoking one again adds nothing.
      const all = sessions.flatMap((session) => session.revoked);
      for (const token of all) {
        expect((await afterRevocation('GET', `${stack.users}/users/me`, { token })).status).toBe(401);
        expect((await afterRevocation('GET', `${stack.orders}/orders`, { token })).status).toBe(401);
        expect((await oauth(freshClientAddress(), 'introspect', { token }, basic(CLIENT))).body).toEqual({
          active: false,
        });
        expect((await oauth(freshClientAddress(), 'revoke', { token, client_id: 'first-party-app' })).status).toBe(200);
      }
      expect((await indexSize()) - before).toBe(PER_SUBJECT + sessions.length);
    });

    it('a burst of logouts with many tokens of one session adds one entry: the session, not each token', async () => {
      const user = await newUser();
      const from = freshClientAddress();
      const tokens: string[] = [user.access];
      let refresh = user.refresh;
      for (let turn = 0; turn < 19; turn += 1) {
        const refreshed = await callFrom(from, 'POST', `${stack.auth}/auth/refresh`, {
          json: { refresh_token: refresh },
        });
        tokens.push(refreshed.body.access_token);
        refresh = refreshed.body.refresh_token;
      }
      const before = await indexSize();
      const answers = await Promise.all(
        tokens.map((token) => callFrom(freshClientAddress(), 'POST', `${stack.auth}/auth/logout`, { token })),
      );
      expect(answers.filter((answer) => answer.status === 204).length).toBeGreaterThan(0);
      expect((await indexSize()) - before).toBe(1);
      for (const token of tokens) {
        expect((await afterRevocation('GET', `${stack.users}/users/me`, { token })).status).toBe(401);
      }
    });
  });
});
