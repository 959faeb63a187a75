import * as argon2 from 'argon2';
import type { FastifyRequest } from 'fastify';
import { ProblemException } from '@jwt-ms/service-core';
import type { CredentialsRateLimiter } from '../rate-limit/credentials-rate-limiter';
import { recordCharge } from '../rate-limit/credentials-rate-limiter';
import type { TokenRateLimiter } from '../rate-limit/token-rate-limit';
import { ClientAuthenticator } from './client-authenticator';
import { ClientRegistry, GRANT_TYPES, type RegisteredClient } from './clients/client-registry';

// The real argon2, every verification counted: the cost of an answer is the number of argon2 computations in it.
jest.mock('argon2', () => {
  const actual = jest.requireActual<typeof import('argon2')>('argon2');
  return { ...actual, verify: jest.fn(actual.verify) };
});
const verify = argon2.verify as jest.MockedFunction<typeof argon2.verify>;

// argon2id at its production cost (64 MiB, t = 3), several times per test, on a busy 2-core machine.
jest.setTimeout(120_000);

const SECRET = 'reporting-job-test-secret-0123456789';
const WRONG = 'reporting-job-test-secret-0123456780';

/**
 * Client authentication answers in the same time whatever part of it fails
 * (docs/security.md): every failing path that presents a secret runs exactly
 * one argon2 verification, the time that dominates the answer, whether the
 * client id is unknown, public, or known with a wrong secret (before or after
 * its right secret was proven and remembered). Counted, not timed, so the
 * test cannot be flaky on a loaded machine; the e2e suite adds a coarse timing check.
 */
describe('ClientAuthenticator: one argon2 verification on every failing path', () => {
  let registry: ClientRegistry;
  let reportingHash: string;

  beforeAll(async () => {
    reportingHash = await argon2.hash(SECRET, { type: argon2.argon2id });
    const clients: RegisteredClient[] = [
      {
        id: 'first-party-app',
        type: 'public',
        secretHash: null,
        grantTypes: [GRANT_TYPES.refreshToken],
        scopes: ['profile:read'],
        audiences: ['users-service'],
        subjectTokenAudiences: [],
        redirectUris: [],
      },
      {
        id: 'reporting-job',
        type: 'confidential',
        secretHash: reportingHash,
        grantTypes: [GRANT_TYPES.clientCredentials],
        scopes: ['users:read'],
        audiences: ['users-service'],
        subjectTokenAudiences: [],
        redirectUris: [],
      },
    ];
    registry = new ClientRegistry(clients);
  });

  beforeEach(() => verify.mockClear());

  /**
   * A fresh authenticator (nothing proven yet), its limiters doing nothing: Redis is not what is tested here.
   * Its dummy hash is made at the first need (as the first request before the bootstrap hook's finishes).
   */
  const authenticator = () => {
    const limiter = { refund: async () => undefined } as unknown as CredentialsRateLimiter;
    const volume = { chargeClient: async () => undefined } as unknown as TokenRateLimiter;
    return new ClientAuthenticator(registry, limiter, volume);
  };

  /** A request as the `@CredentialsRateLimit('client_id')` guard leaves it. */
  const request = (authorization?: string): FastifyRequest => {
    const made = {
      headers: authorization === undefined ? {} : { authorization },
      routeOptions: { url: '/oauth/token' },
    } as unknown as FastifyRequest;
    recordCharge(made, { pool: 'client', ip: '127.0.0.1', account: null });
    return made;
  };
  const basic = (id: string, secret: string) =>
    `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

  /** What a refusal sends: status, problem fields and headers (two failures must not differ in any of these). */
  const refusal = async (attempt: Promise<unknown>) => {
    const error = await attempt.then(
      () => {
        throw new Error('expected the authentication to fail');
      },
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ProblemException);
    const problem = error as ProblemException;
    return { status: problem.getStatus(), code: problem.code, detail: problem.detail, headers: problem.headers };
  };

  const invalidClient = {
    status: 401,
    code: 'invalid_client',
    detail: 'Client authentication failed.',
    headers: { 'www-authenticate': 'Basic realm="auth-service"' },
  };

  it('an unknown client id (HTTP Basic): one verification, against the dummy hash', async () => {
    const answer = await refusal(authenticator().authenticate(request(basic('nobody', WRONG)), {}, false));
    expect(answer).toEqual(invalidClient);
    expect(verify).toHaveBeenCalledTimes(1);
    expect(verify.mock.calls[0][0]).not.toBe(reportingHash);
    expect(verify.mock.calls[0][1]).toBe(WRONG);
  });

  it('an unknown client id (client_secret_post): one verification', async () => {
    const answer = await refusal(
      authenticator().authenticate(request(), { client_id: 'nobody', client_secret: WRONG }, false),
    );
    expect(answer).toEqual(invalidClient);
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('a known client id with a wrong secret, nothing proven yet: one verification, against its hash', async () => {
    const answer = await refusal(authenticator().authenticate(request(basic('reporting-job', WRONG)), {}, false));
    expect(answer).toEqual(invalidClient);
    expect(verify).toHaveBeenCalledTimes(1);
    expect(verify.mock.calls[0][0]).toBe(reportingHash);
  });

  it('a known client id with a wrong secret after its right secret was proven and remembered: one verification', async () => {
    const made = authenticator();
    await expect(made.authenticate(request(basic('reporting-job', SECRET)), {}, false)).resolves.toMatchObject({
      client: { id: 'reporting-job' },
      method: 'client_secret_basic',
    });
    expect(verify).toHaveBeenCalledTimes(1);
    // The proven secret is remembered: the next right one costs no argon2 (so the case below is the cached path).
    await made.authenticate(request(basic('reporting-job', SECRET)), {}, false);
    expect(verify).toHaveBeenCalledTimes(1);
    verify.mockClear();
    const answer = await refusal(made.authenticate(request(basic('reporting-job', WRONG)), {}, false));
    expect(answer).toEqual(invalidClient);
    expect(verify).toHaveBeenCalledTimes(1);
    expect(verify.mock.calls[0][0]).toBe(reportingHash);
  });

  it('a public client id presenting a secret: one verification, as for an unknown id', async () => {
    const answer = await refusal(authenticator().authenticate(request(basic('first-party-app', WRONG)), {}, true));
    expect(answer).toEqual(invalidClient);
    expect(verify).toHaveBeenCalledTimes(1);
    verify.mockClear();
    const post = await refusal(
      authenticator().authenticate(request(), { client_id: 'first-party-app', client_secret: WRONG }, true),
    );
    expect(post).toEqual(invalidClient);
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('without a secret there is nothing to compare, for a known and an unknown id alike: no verification', async () => {
    const known = await refusal(authenticator().authenticate(request(), { client_id: 'reporting-job' }, true));
    const unknown = await refusal(authenticator().authenticate(request(), { client_id: 'nobody' }, true));
    expect(known).toEqual(invalidClient);
    expect(unknown).toEqual(invalidClient);
    expect(verify).not.toHaveBeenCalled();
  });
});
