import { Logger } from '@nestjs/common';
import { decodeJwt } from 'jose';
import { DataSource } from 'typeorm';
import type { TokenResponse } from '@jwt-ms/contracts';
import { establishRevocationList, testPrincipal } from '@jwt-ms/auth-jwt/testing';
import { PrivateRedis } from '@jwt-ms/testing';
import type { UserPrincipal } from '@jwt-ms/auth-jwt';
import { ProblemException, createRedisClient, databaseOptions, type RedisClient } from '@jwt-ms/service-core';
import { loadAuthServiceConfig } from '../auth-service.config';
import { Account } from '../accounts/account.entity';
import { AccountsService } from '../accounts/accounts.service';
import { generateSigningJwk } from '../keys/signing-jwk';
import { SigningKeys } from '../keys/signing-key-set';
import { RevocationStore } from '../revocation/revocation.store';
import { AccessTokenIssuer } from '../tokens/access-token.issuer';
import { RefreshGrace } from '../tokens/refresh-grace';
import { RefreshToken } from '../tokens/refresh-token.entity';
import { RefreshTokensService } from '../tokens/refresh-tokens.service';
import { REVOCATION_ENTRIES_KEY, revocationField } from '@jwt-ms/contracts';
import { loadClientRegistry } from '../oauth/clients/client-registry';
import { AuthService } from './auth.service';

const PASSWORD = 'correct horse battery staple';

// Each test hashes and verifies several argon2id passwords: slow on a busy 2-core machine.
jest.setTimeout(120_000);

/** A held call: `reached` once `count` calls are waiting, `release()` lets them all run the real method. */
interface Hold {
  reached: Promise<void>;
  release(): void;
}

/**
 * Holds the next `count` calls of `target[method]` before they run, so a test
 * can put another operation exactly there; then the real method runs. Not a
 * mock: the calls do what they always do, later. Later calls are not held.
 */
function holdNextCalls<T extends object>(target: T, method: keyof T & string, count = 1): Hold {
  const original = target[method] as (...args: unknown[]) => Promise<unknown>;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let arrived!: () => void;
  const reached = new Promise<void>((resolve) => (arrived = resolve));
  let waiting = 0;
  (target as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    waiting += 1;
    if (waiting === count) {
      (target as Record<string, unknown>)[method] = original;
      arrived();
    }
    await released;
    return original.apply(target, args);
  };
  return { reached, release };
}

/** The refusal a settled operation ended with: its status and code, or `ok`. */
async function outcome(operation: Promise<unknown>): Promise<string> {
  try {
    await operation;
    return 'ok';
  } catch (error) {
    if (error instanceof ProblemException) return `${error.getStatus()} ${error.code}`;
    throw error;
  }
}

describe('AuthService race paths (real SQLite, private Redis): no live token after a revocation', () => {
  const redis = new PrivateRedis();
  let client: RedisClient;
  let database: DataSource;
  let accounts: AccountsService;
  let refreshTokens: RefreshTokensService;
  let store: RevocationStore;
  let service: AuthService;
  let issuer: AccessTokenIssuer;
  let run = 0;
  /** The sessions' clock (milliseconds since the epoch): real time unless a test sets `clockMs`. */
  let clockMs: number | null = null;
  const clock = () => clockMs ?? Date.now();

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    await redis.start();
    client = createRedisClient(redis.url);
    if (!client.isReady) await new Promise((resolve) => client.once('ready', resolve));
    await establishRevocationList(client);
    database = await new DataSource(
      databaseOptions({ sqlitePath: ':memory:', entities: [Account, RefreshToken], migrations: [] }),
    ).initialize();
    // No grace window: these races are about reuse detection itself (refresh-grace.spec.ts has the window).
    const config = loadAuthServiceConfig({ DATA_DIR: '/nonexistent', REFRESH_TOKEN_REUSE_GRACE_SECONDS: '0' });
    accounts = new AccountsService(database.getRepository(Account));
    refreshTokens = new RefreshTokensService(database.getRepository(RefreshToken), config, clock);
    store = new RevocationStore(client, null);
    const keys = new SigningKeys({ keys: [generateSigningJwk(config.SIGNING_ALGORITHM)] }, config.SIGNING_ALGORITHM);
    issuer = new AccessTokenIssuer(keys, config);
    service = new AuthService(
      accounts,
      issuer,
      refreshTokens,
      store,
      loadClientRegistry(config),
      new RefreshGrace(client, config),
      config,
      clock,
    );
  }, 60_000);

  afterEach(() => {
    clockMs = null;
  });

  afterAll(async () => {
    client?.destroy();
    await database?.destroy();
    await redis.stop();
    jest.restoreAllMocks();
  });

  /** A new account, logged in once. */
  async function signedIn(): Promise<{ email: string; pair: TokenResponse }> {
    run += 1;
    const email = `race.${run}.${Date.now().toString(36)}@example.test`;
    await accounts.register(email, PASSWORD);
    return { email, pair: await service.login(email, PASSWORD) };
  }

  /** The principal the guard would hand the controller for this access token. */
  function principalOf(accessToken: string): UserPrincipal {
    const claims = decodeJwt(accessToken);
    return testPrincipal({
      subject: String(claims.sub),
      tokenId: String(claims.jti),
      sessionId: String(claims['sid']),
      authenticatedAt: Number(claims['auth_time']),
      issuedAt: Number(claims.iat),
      expiresAt: Number(claims.exp),
    });
  }

  /** Why every verifier refuses this access token (what their copies of the list hold), or null: it is live. */
  function revocationOf(accessToken: string): Promise<string | null> {
    const claims = decodeJwt(accessToken);
    return store.check({
      jti: String(claims.jti),
      sid: String(claims['sid']),
      sub: String(claims.sub),
      authTime: Number(claims['auth_time']),
    });
  }

  /**
   * Asserts that nothing a session ever handed out still works: every access
   * token is revoked, and every refresh token is refused.
   */
  async function expectDead(pairs: TokenResponse[]): Promise<void> {
    for (const pair of pairs) {
      expect(await revocationOf(pair.access_token)).not.toBeNull();
      expect(await outcome(service.refresh(pair.refresh_token))).toBe('400 invalid_grant');
    }
  }

  describe('refresh vs logout of the same session', () => {
    it.each([
      ['before the refresh writes its new refresh token', 'create' as const],
      ['between the new refresh token and the final check', 'check' as const],
    ])('refuses the refresh when the logout lands %s', async (_, step) => {
      const { pair } = await signedIn();
      const hold = step === 'create' ? holdNextCalls(refreshTokens, 'create') : holdNextCalls(store, 'check');

      const refreshing = outcome(service.refresh(pair.refresh_token));
      await hold.reached;
      await service.logout(principalOf(pair.access_token));
      hold.release();

      expect(await refreshing).toBe('400 invalid_grant');
      await expectDead([pair]);
    });

    it('refuses the refresh while the logout has written Redis but not yet the database', async () => {
      const { pair } = await signedIn();
      const hold = holdNextCalls(refreshTokens, 'revokeFamily'); // the logout's database step

      const loggingOut = service.logout(principalOf(pair.access_token));
      await hold.reached;
      // The presented refresh token is still unrevoked in the database: only the Redis entry can stop this.
      expect(await outcome(service.refresh(pair.refresh_token))).toBe('400 invalid_grant');
      hold.release();
      await loggingOut;

      await expectDead([pair]);
    });

    it('leaves the pair of a refresh that finished just before the logout dead too', async () => {
      const { pair } = await signedIn();
      const refreshed = await service.refresh(pair.refresh_token); // its final check saw nothing: no logout yet
      expect(await revocationOf(refreshed.access_token)).toBeNull();

      await service.logout(principalOf(pair.access_token));

      await expectDead([pair, refreshed]);
    });

    it('revokes the whole session, the new pair too, when a consumed refresh token comes back (RFC 9700 §4.14.2)', async () => {
      const { pair } = await signedIn();
      const refreshed = await service.refresh(pair.refresh_token);
      expect(await revocationOf(refreshed.access_token)).toBeNull();

      expect(await outcome(service.refresh(pair.refresh_token))).toBe('400 invalid_grant'); // the replay

      await expectDead([pair, refreshed]);
    });

    it('refuses the rightful refresh too when the replay lands before its final check', async () => {
      const { pair } = await signedIn();
      const hold = holdNextCalls(store, 'check'); // the first refresh has consumed the token and made its pair

      const rightful = outcome(service.refresh(pair.refresh_token));
      await hold.reached;
      expect(await outcome(service.refresh(pair.refresh_token))).toBe('400 invalid_grant');
      hold.release();

      expect(await rightful).toBe('400 invalid_grant');
      await expectDead([pair]);
    });
  });

  describe('password change', () => {
    it('refuses every refresh token and session from before the change; a login after it lives', async () => {
      const { email, pair: first } = await signedIn();
      const second = await service.login(email, PASSWORD); // another device

      await service.changePassword(principalOf(first.access_token), PASSWORD, 'a brand new passphrase 1');

      await expectDead([first, second]);
      expect(await outcome(service.login(email, PASSWORD))).toBe('401 invalid_credentials');
      const after = await service.login(email, 'a brand new passphrase 1');
      expect(await revocationOf(after.access_token)).toBeNull();
      const refreshed = await service.refresh(after.refresh_token);
      expect(await revocationOf(refreshed.access_token)).toBeNull();
    });

    it('refuses a refresh whose session began before a change that lands mid-refresh', async () => {
      const { pair } = await signedIn();
      const hold = holdNextCalls(refreshTokens, 'create');

      const refreshing = outcome(service.refresh(pair.refresh_token));
      await hold.reached;
      await service.changePassword(principalOf(pair.access_token), PASSWORD, 'a brand new passphrase 2');
      hold.release();

      expect(await refreshing).toBe('400 invalid_grant');
      await expectDead([pair]);
    });

    it('lets exactly one of two concurrent changes win, and revokes what came before', async () => {
      const { email, pair } = await signedIn();
      // Both have verified the current password before either writes: the classic lost update.
      const hold = holdNextCalls(accounts, 'replacePassword', 2);
      const principal = principalOf(pair.access_token);

      const changes = [
        outcome(service.changePassword(principal, PASSWORD, 'the first new passphrase')),
        outcome(service.changePassword(principal, PASSWORD, 'the second new passphrase')),
      ];
      await hold.reached;
      hold.release();
      const results = await Promise.all(changes);

      expect([...results].sort()).toEqual(['403 invalid_credentials', 'ok']);
      const winner = results[0] === 'ok' ? 'the first new passphrase' : 'the second new passphrase';
      const loser = results[0] === 'ok' ? 'the second new passphrase' : 'the first new passphrase';
      expect(await outcome(service.login(email, loser))).toBe('401 invalid_credentials');
      expect(await outcome(service.login(email, winner))).toBe('ok');
      await expectDead([pair]);
    });
  });

  describe('account deletion', () => {
    it('refuses a refresh after the deletion, and every token of the account is revoked', async () => {
      const { email, pair } = await signedIn();
      const second = await service.login(email, PASSWORD);

      await service.deleteAccount(principalOf(pair.access_token).subject);

      await expectDead([pair, second]);
      expect(await outcome(service.login(email, PASSWORD))).toBe('401 invalid_credentials');
      expect(
        await database.getRepository(RefreshToken).countBy({ accountId: principalOf(pair.access_token).subject }),
      ).toBe(0);
    });

    it('refuses a refresh that had found the account just before it was deleted', async () => {
      const { pair } = await signedIn();
      const subject = principalOf(pair.access_token).subject;
      const hold = holdNextCalls(refreshTokens, 'create'); // after consume and the account look-up

      const refreshing = outcome(service.refresh(pair.refresh_token));
      await hold.reached;
      await service.deleteAccount(subject);
      hold.release();

      expect(await refreshing).toBe('400 invalid_grant');
      await expectDead([pair]);
      // The refresh's row, written after the deletion removed the account's rows, is revoked: no live grant.
      const left = await database.getRepository(RefreshToken).findBy({ accountId: subject });
      expect(left.every((row) => row.revokedAt !== null)).toBe(true);
    });

    it('refuses a refresh while the deletion has revoked the tokens but not yet removed the account', async () => {
      const { pair } = await signedIn();
      const subject = principalOf(pair.access_token).subject;
      const hold = holdNextCalls(accounts, 'delete'); // the deletion's last step

      const deleting = service.deleteAccount(subject);
      await hold.reached;
      expect(await accounts.findById(subject)).not.toBeNull();
      expect(await outcome(service.refresh(pair.refresh_token))).toBe('400 invalid_grant');
      hold.release();
      await deleting;

      await expectDead([pair]);
    });
  });
  describe('whole-second times: auth_time, iat and exp are NumericDates without fractions', () => {
    /** The start of a whole second of real time, so the tokens' real `iat` stays near the sessions' clock. */
    const secondStart = () => Math.floor(Date.now() / 1000) * 1000;
    const claimsOf = (pair: TokenResponse) => decodeJwt(pair.access_token);

    it("signs whole seconds, and a refresh carries the login's auth_time", async () => {
      const start = secondStart();
      clockMs = start + 999; // the last millisecond of the second: a fraction would have shown
      const { pair } = await signedIn();
      const refreshed = await service.refresh(pair.refresh_token);
      for (const claims of [claimsOf(pair), claimsOf(refreshed)]) {
        for (const name of ['auth_time', 'iat', 'exp'] as const) expect(Number.isInteger(claims[name])).toBe(true);
        expect(claims['auth_time']).toBe(start / 1000);
      }
    });

    it('refuses to sign a fractional auth_time: a bug in the caller, not a token', async () => {
      await expect(
        issuer.issueForUser({ id: 'a', email: 'a@example.test', roles: ['user'] }, 'sid', 1_700_000_000.5, {
          clientId: 'first-party-app',
          audience: ['users-service'],
          scopes: ['profile:read'],
        }),
      ).rejects.toThrow(new RangeError('auth_time is a whole number of seconds'));
    });

    it('revokes a session begun earlier in the same second as a logout everywhere; one begun after it lives', async () => {
      const start = secondStart();
      clockMs = start + 200;
      const { email, pair: before } = await signedIn();
      const subject = principalOf(before.access_token).subject;
      clockMs = start + 500;
      await service.revokeAll(subject);
      clockMs = start + 700; // the same second
      const after = await service.login(email, PASSWORD);

      expect(await revocationOf(before.access_token)).toBe('all tokens of the subject revoked');
      expect(claimsOf(before)['auth_time']).toBe(start / 1000);
      expect(await revocationOf(after.access_token)).toBeNull();
      // Its session starts at the watermark: 1 s after the clock, within the verifiers' 5 s tolerance after iat.
      expect(claimsOf(after)['auth_time']).toBe(start / 1000 + 1);
      const refreshed = await service.refresh(after.refresh_token);
      expect(await revocationOf(refreshed.access_token)).toBeNull();
      expect(claimsOf(refreshed)['auth_time']).toBe(start / 1000 + 1);
      expect(await outcome(service.refresh(before.refresh_token))).toBe('400 invalid_grant');
    });

    it('revokes a login made between two logouts everywhere of one second; a login after both lives', async () => {
      const start = secondStart();
      clockMs = start + 100;
      const { email, pair: first } = await signedIn();
      const subject = principalOf(first.access_token).subject;
      clockMs = start + 200;
      await service.revokeAll(subject);
      clockMs = start + 300;
      const between = await service.login(email, PASSWORD); // takes auth_time from the watermark: a claim
      clockMs = start + 400;
      await service.revokeAll(subject); // floor(now) + 1 alone would equal the claimed auth_time
      clockMs = start + 500;
      const last = await service.login(email, PASSWORD);

      expect(await revocationOf(first.access_token)).toBe('all tokens of the subject revoked');
      expect(await revocationOf(between.access_token)).toBe('all tokens of the subject revoked');
      expect(await revocationOf(last.access_token)).toBeNull();
      expect(claimsOf(last)['auth_time']).toBe(start / 1000 + 2);
    });

    it('does not push the watermark ahead with revocations in a row that no login came between', async () => {
      const start = secondStart();
      clockMs = start + 100;
      const { email, pair } = await signedIn();
      const subject = principalOf(pair.access_token).subject;
      for (let i = 0; i < 20; i += 1) {
        clockMs = start + 200 + i * 10;
        await service.revokeAll(subject);
      }
      const field = revocationField('subject', subject);
      expect(String(await client.hGet(REVOCATION_ENTRIES_KEY, field))).toMatch(new RegExp(`:${start / 1000 + 1}$`));
      clockMs = start + 800;
      const after = await service.login(email, PASSWORD);
      expect(claimsOf(after)['auth_time']).toBe(start / 1000 + 1);
      expect(await revocationOf(after.access_token)).toBeNull();
    });

    it('answers 503 with Retry-After when revocations within one second put the watermark more than 2 s ahead', async () => {
      const start = secondStart();
      clockMs = start + 100;
      const { email, pair } = await signedIn();
      const subject = principalOf(pair.access_token).subject;
      for (let i = 0; i < 2; i += 1) {
        clockMs = start + 200 + i * 200;
        await service.revokeAll(subject);
        clockMs += 100;
        await service.login(email, PASSWORD); // each claims the watermark: the next revocation moves past it
      }
      clockMs = start + 600;
      await service.revokeAll(subject); // now 3 s ahead of the clock
      clockMs = start + 900;
      const refused = await service.login(email, PASSWORD).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ProblemException);
      expect((refused as ProblemException).getStatus()).toBe(503);
      expect((refused as ProblemException).code).toBe('temporarily_unavailable');
      expect((refused as ProblemException).headers['retry-after']).toBe('1');

      clockMs = start + 1900; // one second on, the lead is 2 s again
      const later = await service.login(email, PASSWORD);
      expect(claimsOf(later)['auth_time']).toBe(start / 1000 + 3);
      expect(await revocationOf(later.access_token)).toBeNull();
    });

    it('refuses a login whose password check a logout everywhere overtakes, in the same second', async () => {
      const start = secondStart();
      clockMs = start + 100;
      const { email, pair } = await signedIn();
      const subject = principalOf(pair.access_token).subject;
      clockMs = start + 200;
      await service.revokeAll(subject);
      clockMs = start + 300;
      // The watermark is read and claimed; the password check is still to come.
      const hold = holdNextCalls(accounts, 'verifyCredentials');
      const racing = outcome(service.login(email, PASSWORD));
      await hold.reached;
      clockMs = start + 400;
      await service.revokeAll(subject);
      hold.release();

      expect(await racing).toBe('401 invalid_credentials'); // the final check saw the newer watermark
      clockMs = start + 500;
      const after = await service.login(email, PASSWORD);
      expect(await revocationOf(after.access_token)).toBeNull();
    });

    it('fails a login closed, with 503, when Redis cannot be reached for the watermark', async () => {
      const { email } = await signedIn();
      redis.pause();
      try {
        expect(await outcome(service.login(email, PASSWORD))).toBe('503 dependency_unavailable');
      } finally {
        redis.resume();
      }
    });
  });
});
