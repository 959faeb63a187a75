/**
 * Test fixtures for services that use `@jwt-ms/auth-jwt`: mint access tokens
 * of each kind (user, exchanged user, service) with a throw-away key set, as
 * the real issuer would, then bend them; a verified principal of either kind
 * without a token; the issuer's first-start step on the
 * revocation list. Helpers that start processes and servers (Redis, the
 * services) are in `@jwt-ms/testing`.
 * Import from `@jwt-ms/auth-jwt/testing` in specs only; lint refuses it in production code.
 */
import { KeyObject, randomUUID, sign } from 'node:crypto';
import { SignJWT, base64url, exportJWK, generateKeyPair, type JSONWebKeySet, type JWK, type JWTPayload } from 'jose';
import {
  ACCESS_TOKEN_TYPE,
  REVOCATION_GENERATION_KEY,
  SCOPES_BY_ROLE,
  formatRevocationGeneration,
  parseRevocationGeneration,
  type Role,
  type SigningAlgorithm,
} from '@jwt-ms/contracts';
import type { ServicePrincipal, UserPrincipal } from './lib/principal';

/**
 * Does the issuer's first-start step for a test that runs verifiers without
 * an issuer: writes an established revocation-list generation marker
 * (`REVOCATION_GENERATION_KEY`) unless one is there, so that a RevocationView
 * on this Redis database loads. A test of the loss itself deletes the marker.
 *
 * @param redis a connected client on the database the verifiers use
 * @param tokenLifetimeSeconds the token lifetime the list covers, in seconds (default 900)
 * @returns the marker's id
 */
export async function establishRevocationList(
  redis: {
    get(key: string): Promise<string | null>;
    set(key: string, value: string, options: { NX: true }): Promise<unknown>;
  },
  tokenLifetimeSeconds = 900,
): Promise<string> {
  const value = formatRevocationGeneration({ id: randomUUID(), established: true, tokenLifetimeSeconds });
  await redis.set(REVOCATION_GENERATION_KEY, value, { NX: true });
  const stored = parseRevocationGeneration(await redis.get(REVOCATION_GENERATION_KEY));
  if (!stored?.established) throw new Error('the revocation list is being re-established by an issuer here');
  return stored.id;
}

/** `client_id` of the user tokens minted here (the first-party app's). */
export const TEST_CLIENT_ID = 'test-client';
/** The acting client of the exchanged tokens minted here (RFC 8693 `act.sub`, and their `client_id`). */
export const TEST_ACTING_CLIENT_ID = 'orders-service';
/** The client of the service tokens minted here (its `sub` and `client_id`). */
export const TEST_SERVICE_CLIENT_ID = 'reporting-client';

/** A throw-away signing key with its public JWK. */
export interface TestSigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** Generates a signing key of the given algorithm (keys are test fixtures, never persisted). */
export async function generateTestSigningKey(
  alg: SigningAlgorithm = 'ES256',
  kid = `test-${alg}-${randomUUID()}`,
): Promise<TestSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

/** What {@link TestTokenIssuer.mint} may override. */
export interface MintOptions {
  /** Claims to set (or, with `undefined`, remove) on top of valid defaults. */
  claims?: Record<string, unknown>;
  /** Protected-header parameters to set on top of `{alg, kid, typ: "at+jwt"}`. */
  header?: Record<string, unknown>;
  /** Sign with this key instead of the issuer's (e.g. one not in the JWKS). */
  key?: TestSigningKey;
}

/**
 * Mints access tokens shaped exactly like the auth service's (RFC 9068),
 * signed with its own test keys, whose public half is {@link jwks}.
 */
export class TestTokenIssuer {
  private constructor(
    readonly issuer: string,
    readonly audience: string[],
    readonly keys: TestSigningKey[],
  ) {}

  /**
   * @param options.issuer `iss` of minted tokens (default `https://issuer.test`)
   * @param options.audience `aud` of minted tokens (default `['users-service', 'orders-service']`)
   * @param options.algorithms one key per algorithm; the first signs by default
   */
  static async create(options: { issuer?: string; audience?: string[]; algorithms?: SigningAlgorithm[] } = {}) {
    const algorithms = options.algorithms ?? ['ES256'];
    const keys = await Promise.all(algorithms.map((alg) => generateTestSigningKey(alg)));
    return new TestTokenIssuer(
      options.issuer ?? 'https://issuer.test',
      options.audience ?? ['users-service', 'orders-service'],
      keys,
    );
  }

  /** The public JWK Set (RFC 7517 §5) a verifier needs. */
  get jwks(): JSONWebKeySet {
    return { keys: this.keys.map((key) => key.publicJwk) };
  }

  /**
   * Valid claims of a user token (login or refresh) for a user with the given roles; times in seconds since the
   * epoch, `auth_time` whole seconds, as the issuer writes them.
   */
  claimsFor(subject: string = randomUUID(), roles: Role[] = ['user']): JWTPayload & Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: this.issuer,
      sub: subject,
      aud: this.audience,
      iat: now,
      exp: now + 900,
      jti: randomUUID(),
      client_id: TEST_CLIENT_ID,
      scope: roles.flatMap((role) => SCOPES_BY_ROLE[role]).join(' '),
      roles,
      sid: randomUUID(),
      auth_time: now,
      email: `${subject}@example.test`,
    };
  }

  /**
   * Valid claims of an exchanged user token (RFC 8693): the user's claims, issued to the acting client, with
   * `act: {sub: actor}` (§4.1), no roles and narrower scopes.
   *
   * @param actor the acting client's id, also the token's `client_id` (default `orders-service`)
   * @param scopes the exchanged scopes (default `['profile:read']`)
   */
  exchangedClaimsFor(
    subject: string = randomUUID(),
    actor = TEST_ACTING_CLIENT_ID,
    scopes: string[] = ['profile:read'],
  ): JWTPayload & Record<string, unknown> {
    return {
      ...this.claimsFor(subject, []),
      client_id: actor,
      scope: scopes.join(' '),
      act: { sub: actor },
    };
  }

  /**
   * Valid claims of a service token (RFC 6749 §4.4 client credentials): `sub` = `client_id`, no user claims.
   *
   * @param clientId the client (default `reporting-client`)
   * @param scopes its scopes (default `['users:read']`)
   */
  serviceClaimsFor(
    clientId = TEST_SERVICE_CLIENT_ID,
    scopes: string[] = ['users:read'],
  ): JWTPayload & Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: this.issuer,
      sub: clientId,
      aud: this.audience,
      iat: now,
      exp: now + 900,
      jti: randomUUID(),
      client_id: clientId,
      scope: scopes.join(' '),
    };
  }

  /**
   * Mints a user token (login or refresh).
   *
   * @returns a compact JWS: valid unless `options` bend it
   */
  async mint(options: MintOptions = {}): Promise<string> {
    return this.sign(this.claimsFor(), options);
  }

  /**
   * Mints an exchanged user token (RFC 8693, see {@link exchangedClaimsFor}).
   *
   * @returns a compact JWS: valid unless `options` bend it
   */
  async mintExchanged(options: MintOptions & { subject?: string; actor?: string; scopes?: string[] } = {}) {
    return this.sign(this.exchangedClaimsFor(options.subject, options.actor, options.scopes), options);
  }

  /**
   * Mints a service token (RFC 6749 §4.4, see {@link serviceClaimsFor}).
   *
   * @returns a compact JWS: valid unless `options` bend it
   */
  async mintService(options: MintOptions & { clientId?: string; scopes?: string[] } = {}): Promise<string> {
    return this.sign(this.serviceClaimsFor(options.clientId, options.scopes), options);
  }

  private async sign(defaults: Record<string, unknown>, options: MintOptions): Promise<string> {
    const key = options.key ?? this.keys[0];
    const claims: Record<string, unknown> = { ...defaults, ...options.claims };
    for (const name of Object.keys(claims)) if (claims[name] === undefined) delete claims[name];
    return new SignJWT(claims as JWTPayload)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE, ...options.header } as never)
      .sign(key.privateKey);
  }

  /**
   * Signs arbitrary header and payload JSON with the issuer's first key,
   * without jose's checks: for tokens jose refuses to make (`crit`, `b64`,
   * duplicate keys, non-object payloads). `payload` is used verbatim when a string.
   */
  signRaw(header: Record<string, unknown>, payload: unknown): string {
    const key = this.keys[0];
    const encode = (value: unknown) => base64url.encode(typeof value === 'string' ? value : JSON.stringify(value));
    const input = `${encode({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE, ...header })}.${encode(payload)}`;
    const digest = key.alg === 'EdDSA' ? null : 'sha256';
    const signature = sign(digest, Buffer.from(input), {
      key: KeyObject.from(key.privateKey),
      dsaEncoding: 'ieee-p1363',
    });
    return `${input}.${base64url.encode(signature)}`;
  }
}

/**
 * A verified user principal as the guard would hand it to a controller, for
 * service-level tests that need no token: a fresh subject with the `user`
 * role and its scopes, valid for 900 s, no actor. Times in seconds since the epoch.
 *
 * @param overrides fields to set, e.g. `{ roles: ['user', 'admin'] }`, or
 *   `{ actor: { subject: 'orders-service' } }` for an exchanged token's principal
 */
export function testPrincipal(overrides: Partial<Omit<UserPrincipal, 'kind'>> = {}): UserPrincipal {
  const now = Math.floor(Date.now() / 1000);
  const subject = overrides.subject ?? randomUUID();
  const roles = overrides.roles ?? ['user'];
  return {
    kind: 'user',
    subject,
    email: `${subject}@example.test`,
    roles,
    scopes: roles.flatMap((role) => SCOPES_BY_ROLE[role]),
    clientId: TEST_CLIENT_ID,
    tokenId: randomUUID(),
    sessionId: randomUUID(),
    issuedAt: now,
    authenticatedAt: now,
    expiresAt: now + 900,
    audience: ['users-service', 'orders-service'],
    actor: null,
    ...overrides,
  };
}

/**
 * A verified service principal (RFC 6749 §4.4 client credentials), for tests
 * that need no token: client `reporting-client` (also its subject) with scope
 * `users:read`, valid for 900 s. Times in seconds since the epoch.
 *
 * @param overrides fields to set, e.g. `{ scopes: ['orders:read'] }`; `clientId` sets `subject` too unless given
 */
export function testServicePrincipal(overrides: Partial<Omit<ServicePrincipal, 'kind'>> = {}): ServicePrincipal {
  const now = Math.floor(Date.now() / 1000);
  const clientId = overrides.clientId ?? TEST_SERVICE_CLIENT_ID;
  return {
    kind: 'service',
    subject: clientId,
    scopes: ['users:read'],
    clientId,
    tokenId: randomUUID(),
    issuedAt: now,
    expiresAt: now + 900,
    audience: ['users-service', 'orders-service'],
    ...overrides,
  };
}
