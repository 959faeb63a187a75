import { ADMIN, startStack, type Stack } from './support/stack';
import { afterRevocation, call, expectProblem, type JsonResponse } from './support/http';

const PASSWORD = 'correct horse battery staple';

interface Session {
  access: string;
  refresh: string;
}

describe('revocation: sessions, logout everywhere, password change, admin', () => {
  let stack: Stack;
  const run = Date.now().toString(36);
  let userCount = 0;

  beforeAll(async () => {
    // No grace window: these tests are about reuse detection itself (system.e2e-spec covers the window).
    stack = await startStack('postgres', { 'auth-service': { REFRESH_TOKEN_REUSE_GRACE_SECONDS: '0' } });
  });

  afterAll(async () => {
    await stack?.close();
  });

  const register = async (): Promise<{ id: string; email: string }> => {
    userCount += 1;
    const email = `user${userCount}.${run}@example.test`;
    const response = await call('POST', `${stack.auth}/auth/register`, { body: { email, password: PASSWORD } });
    expect(response.status).toBe(201);
    return response.body;
  };
  /**
   * Logs in as a client must: several revocations of the account within one
   * second push its watermark ahead of the clock, and the issuer then answers
   * 503 `temporarily_unavailable` with `Retry-After` (seconds) rather than start
   * a session that verifiers would see dated too far ahead. These tests revoke
   * in tight loops, so they wait as told; any other answer fails the test.
   */
  const login = async (email: string, password = PASSWORD): Promise<Session> => {
    let response = await call('POST', `${stack.auth}/auth/login`, { body: { email, password } });
    for (let retry = 0; retry < 3 && response.status === 503; retry += 1) {
      expectProblem(response, 503, 'temporarily_unavailable');
      const waitSeconds = Number(response.headers.get('retry-after'));
      expect(waitSeconds).toBeGreaterThanOrEqual(1);
      expect(waitSeconds).toBeLessThanOrEqual(3);
      await new Promise((resolve) => setTimeout(resolve, waitSeconds * 1000));
      response = await call('POST', `${stack.auth}/auth/login`, { body: { email, password } });
    }
    expect(response.status).toBe(200);
    return { access: response.body.access_token, refresh: response.body.refresh_token };
  };
  const refresh = (session: Session) =>
    call('POST', `${stack.auth}/auth/refresh`, { body: { refresh_token: session.refresh } });
  const expectRevoked = (response: JsonResponse, reason: string) => {
    expectProblem(response, 401, 'invalid_token');
    expect(response.body.detail).toContain(reason);
  };
  /** Every resource service must refuse the token, for the given reason. */
  const expectRefusedEverywhere = async (token: string, reason: string) => {
    expectRevoked(await afterRevocation('GET', `${stack.users}/users/me`, { token }), reason);
    expectRevoked(await afterRevocation('GET', `${stack.orders}/orders`, { token }), reason);
  };
  const expectAccepted = async (token: string) => {
    expect((await call('GET', `${stack.users}/users/me`, { token })).status).toBe(200);
    expect((await call('GET', `${stack.orders}/orders`, { token })).status).toBe(200);
  };

  it('reusing a rotated refresh token revokes the whole session, access tokens included', async () => {
    const user = await register();
    const first = await login(user.email);
    const other = await login(user.email); // another device: must survive
    const second = await refresh(first);
    expect(second.status).toBe(200);
    await expectAccepted(second.body.access_token);

    expectProblem(await refresh(first), 400, 'invalid_grant'); // the replay
    await expectRefusedEverywhere(first.access, 'session revoked');
    await expectRefusedEverywhere(second.body.access_token, 'session revoked');
    expectProblem(await refresh({ access: '', refresh: second.body.refresh_token }), 400, 'invalid_grant');
    await expectAccepted(other.access);
    expect((await refresh(other)).status).toBe(200);
  });

  it('concurrent uses of one refresh token: at most one wins, and then the whole session is dead, every time', async () => {
    const user = await register();
    for (let trial = 0; trial < 5; trial += 1) {
      const session = await login(user.email);
      const answers = await Promise.all(Array.from({ length: 8 }, () => refresh(session)));
      const winners = answers.filter((answer) => answer.status === 200);
      expect(winners.length).toBeLessThanOrEqual(1);
      expect(answers.filter((answer) => answer.status === 400)).toHaveLength(answers.length - winners.length);
      for (const winner of winners) {
        expectProblem(await refresh({ access: '', refresh: winner.body.refresh_token }), 400, 'invalid_grant');
        expectRevoked(
          await afterRevocation('GET', `${stack.users}/users/me`, { token: winner.body.access_token }),
          'session revoked',
        );
      }
      expectRevoked(
        await afterRevocation('GET', `${stack.users}/users/me`, { token: session.access }),
        'session revoked',
      );
    }
  });

  it('a refresh racing a logout never leaves the session alive', async () => {
    const user = await register();
    for (let trial = 0; trial < 8; trial += 1) {
      const session = await login(user.email);
      const [logout, refreshed] = await Promise.all([
        call('POST', `${stack.auth}/auth/logout`, { token: session.access }),
        refresh(session),
      ]);
      expect(logout.status).toBe(204);
      if (refreshed.status === 200) {
        expectProblem(await refresh({ access: '', refresh: refreshed.body.refresh_token }), 400, 'invalid_grant');
        expectRevoked(
          await afterRevocation('GET', `${stack.orders}/orders`, { token: refreshed.body.access_token }),
          'session revoked',
        );
      } else {
        expectProblem(refreshed, 400, 'invalid_grant');
      }
    }
  });

  it('a refresh racing a logout everywhere never leaves a session alive', async () => {
    const user = await register();
    for (let trial = 0; trial < 8; trial += 1) {
      const older = await login(user.email);
      const trigger = await login(user.email);
      const [logoutAll, refreshed] = await Promise.all([
        call('POST', `${stack.auth}/auth/logout-all`, { token: trigger.access }),
        refresh(older),
      ]);
      expect(logoutAll.status).toBe(204);
      if (refreshed.status === 200) {
        expectProblem(await refresh({ access: '', refresh: refreshed.body.refresh_token }), 400, 'invalid_grant');
        expectRevoked(
          await afterRevocation('GET', `${stack.users}/users/me`, { token: refreshed.body.access_token }),
          'revoked',
        );
      }
    }
  });

  it('a login with the old password racing a password change never survives it', async () => {
    const user = await register();
    let password = PASSWORD;
    for (let trial = 0; trial < 4; trial += 1) {
      const session = await login(user.email, password);
      const next = `${PASSWORD} ${trial}`;
      const [changed, racing] = await Promise.all([
        call('POST', `${stack.auth}/auth/password`, {
          token: session.access,
          body: { current_password: password, new_password: next },
        }),
        call('POST', `${stack.auth}/auth/login`, { body: { email: user.email, password } }),
      ]);
      expect(changed.status).toBe(204);
      if (racing.status === 200) {
        expectRevoked(
          await afterRevocation('GET', `${stack.orders}/orders`, { token: racing.body.access_token }),
          'revoked',
        );
        expectProblem(await refresh({ access: '', refresh: racing.body.refresh_token }), 400, 'invalid_grant');
      }
      password = next;
    }
  });

  it('many revocations in a row do not push token times into the future', async () => {
    const admin = await login(ADMIN.email, ADMIN.password);
    const user = await register();
    for (let i = 0; i < 20; i += 1) {
      expect(
        (await call('POST', `${stack.auth}/auth/admin/users/${user.id}/revoke-tokens`, { token: admin.access })).status,
      ).toBe(204);
    }
    const session = await login(user.email);
    const claims = JSON.parse(Buffer.from(session.access.split('.')[1], 'base64url').toString());
    expect(claims.iat).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    await expectAccepted(session.access);
  });

  it('logout ends the session: earlier access tokens of the same session too', async () => {
    const user = await register();
    const first = await login(user.email);
    const rotated = await refresh(first);
    expect((await call('POST', `${stack.auth}/auth/logout`, { token: rotated.body.access_token })).status).toBe(204);
    // One session entry covers the presented token and every other token of the session.
    await expectRefusedEverywhere(rotated.body.access_token, 'session revoked');
    await expectRefusedEverywhere(first.access, 'session revoked');
  });

  it('logout everywhere revokes every session of the user, and a new login right after works', async () => {
    const user = await register();
    const phone = await login(user.email);
    const laptop = await login(user.email);
    expect((await call('POST', `${stack.auth}/auth/logout-all`, { token: phone.access })).status).toBe(204);
    for (const session of [phone, laptop]) {
      await expectRefusedEverywhere(session.access, 'all tokens of the subject revoked');
      expectProblem(await refresh(session), 400, 'invalid_grant');
    }
    const fresh = await login(user.email); // same second as the revocation: must not be caught by it
    await expectAccepted(fresh.access);
  });

  it('a password change revokes every token; the old password stops working', async () => {
    const user = await register();
    const session = await login(user.email);
    const wrong = await call('POST', `${stack.auth}/auth/password`, {
      token: session.access,
      body: { current_password: 'not my password', new_password: 'a brand new passphrase' },
    });
    expectProblem(wrong, 403, 'invalid_credentials');
    await expectAccepted(session.access);
    const changed = await call('POST', `${stack.auth}/auth/password`, {
      token: session.access,
      body: { current_password: PASSWORD, new_password: 'a brand new passphrase' },
    });
    expect(changed.status).toBe(204);
    await expectRefusedEverywhere(session.access, 'all tokens of the subject revoked');
    expectProblem(await refresh(session), 400, 'invalid_grant');
    expectProblem(
      await call('POST', `${stack.auth}/auth/login`, { body: { email: user.email, password: PASSWORD } }),
      401,
      'invalid_credentials',
    );
    await expectAccepted((await login(user.email, 'a brand new passphrase')).access);
  });

  it('an admin revokes every token of a user, or deletes the user; nobody else may', async () => {
    const admin = await login(ADMIN.email, ADMIN.password);
    const user = await register();
    const victim = await login(user.email);
    const bystander = await register();
    const bystanderSession = await login(bystander.email);

    const forbidden = await call('POST', `${stack.auth}/auth/admin/users/${user.id}/revoke-tokens`, {
      token: bystanderSession.access,
    });
    expectProblem(forbidden, 403, 'insufficient_scope');
    expectProblem(
      await call('POST', `${stack.auth}/auth/admin/users/00000000-0000-4000-8000-000000000000/revoke-tokens`, {
        token: admin.access,
      }),
      404,
      'not_found',
    );

    expect(
      (await call('POST', `${stack.auth}/auth/admin/users/${user.id}/revoke-tokens`, { token: admin.access })).status,
    ).toBe(204);
    await expectRefusedEverywhere(victim.access, 'all tokens of the subject revoked');
    await expectAccepted(bystanderSession.access);

    const again = await login(user.email);
    expect((await call('DELETE', `${stack.auth}/auth/admin/users/${user.id}`, { token: admin.access })).status).toBe(
      204,
    );
    await expectRefusedEverywhere(again.access, 'all tokens of the subject revoked');
    expectProblem(await refresh(again), 400, 'invalid_grant');
    expectProblem(
      await call('POST', `${stack.auth}/auth/login`, { body: { email: user.email, password: PASSWORD } }),
      401,
      'invalid_credentials',
    );
    expectProblem(
      await call('DELETE', `${stack.auth}/auth/admin/users/${user.id}`, { token: admin.access }),
      404,
      'not_found',
    );
  });
});

describe('refresh-token family lifetimes', () => {
  let stack: Stack;

  // Seconds, in another process: the suite cannot move its clock, so it times each step from the right
  // instant. A refresh expected to work is sent at most so long after the *request* that made its token (the
  // token is younger than that); one expected to fail, at least so long after the *answer* (the token is older).
  const IDLE_S = 4;
  const ABSOLUTE_S = 7;

  beforeAll(async () => {
    stack = await startStack('sqlite', {
      'auth-service': {
        REFRESH_TOKEN_IDLE_TIMEOUT_SECONDS: String(IDLE_S),
        REFRESH_TOKEN_ABSOLUTE_LIFETIME_SECONDS: String(ABSOLUTE_S),
      },
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  const sleepUntil = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

  it('an unused refresh token expires after the idle timeout; no session outlives its absolute lifetime', async () => {
    const email = `lifetimes.${Date.now().toString(36)}@example.test`;
    await call('POST', `${stack.auth}/auth/register`, { body: { email, password: PASSWORD } });
    /** Logs in; `sent` and `answered` bracket the instant the server issued the token (ms since the epoch). */
    const login = async () => {
      const sent = Date.now();
      const { body } = await call('POST', `${stack.auth}/auth/login`, { body: { email, password: PASSWORD } });
      return { token: body.refresh_token as string, sent, answered: Date.now() };
    };
    const use = async (token: string) => {
      const sent = Date.now();
      const response = await call('POST', `${stack.auth}/auth/refresh`, { body: { refresh_token: token } });
      return { response, sent };
    };

    const idle = await login();
    await sleepUntil(idle.answered + IDLE_S * 1000 + 300);
    expectProblem((await use(idle.token)).response, 400, 'invalid_grant');

    const session = await login();
    await sleepUntil(session.sent + 2000);
    const first = await use(session.token); // ≤ 2 s + its own latency old: within idle (4 s) and absolute (7 s)
    expect(first.response.status).toBe(200);
    await sleepUntil(first.sent + 2500);
    const second = await use(first.response.body.refresh_token); // a fresh token each time, ≈ 4.5 s into the session
    expect(second.response.status).toBe(200);
    const token = second.response.body.refresh_token;
    await sleepUntil(session.answered + ABSOLUTE_S * 1000 + 300);
    expectProblem((await use(token)).response, 400, 'invalid_grant'); // past 7 s: the family is over, though used ≈ 2.8 s ago
  });
});
