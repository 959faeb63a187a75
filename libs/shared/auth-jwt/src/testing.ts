/**
 * Test fixtures for services that use `@jwt-ms/auth-jwt`: mint access tokens
 * with a throw-away key set, as the real issuer would, then bend them; a
 * verified principal without a token; the issuer's first-start step on the
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
import type { Principal } from './lib/principal';

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

  /** Valid claims for a user with the given roles; times in seconds since the epoch. */
  claimsFor(subject = randomUUID(), roles: Role[] = ['user']): JWTPayload & Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: this.issuer,
      sub: subject,
      aud: this.audience,
      iat: now,
      exp: now + 900,
      jti: randomUUID(),
      client_id: 'test-client',
      scope: roles.flatMap((role) => SCOPES_BY_ROLE[role]).join(' '),
      roles,
      sid: randomUUID(),
      auth_time: now,
      email: `${subject}@example.test`,
    };
  }

  /**
   * @returns a compact JWS: valid unless `options` bend it
   */
  async mint(options: MintOptions = {}): Promise<string> {
    const key = options.key ?? this.keys[0];
    const claims: Record<string, unknown> = { ...this.claimsFor(), ...options.claims };
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
 * A verified principal as the guard would hand it to a controller, for
 * service-level tests that need no token: a fresh subject with the `user`
 * role and its scopes, valid for 900 s. Times in seconds since the epoch.
 *
 * @param overrides fields to set, e.g. `{ roles: ['user', 'admin'] }`
 */
export function testPrincipal(overrides: Partial<Principal> = {}): Principal {
  const now = Math.floor(Date.now() / 1000);
  const subject = overrides.subject ?? randomUUID();
  const roles = overrides.roles ?? ['user'];
  return {
    subject,
    email: `${subject}@example.test`,
    roles,
    scopes: roles.flatMap((role) => SCOPES_BY_ROLE[role]),
    clientId: 'test-client',
    tokenId: randomUUID(),
    sessionId: randomUUID(),
    issuedAt: now,
    authenticatedAt: now,
    expiresAt: now + 900,
    ...overrides,
  };
}
