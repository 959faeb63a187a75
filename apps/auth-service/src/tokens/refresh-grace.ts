import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, hkdfSync } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { REDIS_KEY_PREFIX, type TokenResponse } from '@jwt-ms/contracts';
import { REDIS_CLIENT, ProblemException, withTimeout, type RedisClient } from '@jwt-ms/service-core';
import { REDIS_TIMEOUT_MS } from '@jwt-ms/auth-jwt';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';

/** Prefix of the grace entries: `jwtms:refresh-grace:<hex SHA-256 of the consumed refresh token>`. */
export const REFRESH_GRACE_KEY_PREFIX = `${REDIS_KEY_PREFIX}refresh-grace:`;

/**
 * HKDF `info` of the entry key (RFC 5869 §3.2): binds the derived key to this
 * one use, so the same refresh token can never yield a key used for anything else.
 */
const KEY_INFO = 'jwt-ms refresh-grace v1: A256GCM key of the token response issued for this refresh token';

/**
 * The answer a consumed refresh token was exchanged for, kept in Redis for
 * the grace window (`REFRESH_TOKEN_REUSE_GRACE_SECONDS`, RFC 9700 §4.14.2),
 * so that a second use of the token within it, on any replica, gets the same
 * pair instead of a new one or a revoked session (AuthService.refresh decides
 * when it may).
 *
 * The entry is useless without the refresh token itself: its key is the
 * token's SHA-256 (as the database's), its value the token response as a JWE
 * (RFC 7516 compact, `alg: dir`, `enc: A256GCM`) under a key derived from the
 * token with HKDF-SHA256 (RFC 5869). A reader of Redis (the verifiers' user
 * may GET every `jwtms:*` key) or of a backup learns neither the access
 * token nor the successor refresh token; A256GCM also refuses an entry
 * altered or moved to another token's key.
 */
@Injectable()
export class RefreshGrace {
  private readonly logger = new Logger('RefreshGrace');

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
  ) {}

  /** The grace window in milliseconds; 0 when disabled. */
  get windowMs(): number {
    return this.config.REFRESH_TOKEN_REUSE_GRACE_SECONDS * 1000;
  }

  /**
   * Keeps the response a refresh token was exchanged for, for the grace
   * window (Redis `SET … PX`); nothing when the window is 0.
   *
   * @param refreshToken the consumed token, as the client sent it (only its hash and derived key are used)
   * @param response what the client is about to receive
   * @throws ProblemException 503 `dependency_unavailable` when Redis does not answer within REDIS_TIMEOUT_MS
   */
  async remember(refreshToken: string, response: TokenResponse): Promise<void> {
    if (this.windowMs === 0) return;
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(response)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .encrypt(entryKey(refreshToken));
    await this.bounded(() => this.redis.set(graceKey(refreshToken), jwe, { PX: this.windowMs }));
  }

  /**
   * Reads what {@link remember} kept for a refresh token, once (the caller polls).
   *
   * @param refreshToken the token as the client sent it
   * @returns the response, or null when none is kept (not yet written, expired, or not readable with this token)
   * @throws ProblemException 503 `dependency_unavailable` when Redis does not answer within REDIS_TIMEOUT_MS
   */
  async recall(refreshToken: string): Promise<TokenResponse | null> {
    const jwe = await this.bounded(() => this.redis.get(graceKey(refreshToken)));
    if (jwe === null) return null;
    try {
      const { plaintext } = await compactDecrypt(String(jwe), entryKey(refreshToken), {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
      });
      const response = JSON.parse(new TextDecoder().decode(plaintext)) as Partial<TokenResponse>;
      if (typeof response.access_token !== 'string' || typeof response.refresh_token !== 'string') {
        throw new Error('not a token response');
      }
      return response as TokenResponse;
    } catch {
      // Only the issuer writes these keys: an entry this token cannot open was altered or misplaced.
      this.logger.warn('a refresh grace entry could not be decrypted with its token; ignored');
      return null;
    }
  }

  private async bounded<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(operation(), REDIS_TIMEOUT_MS);
    } catch {
      throw new ProblemException({
        status: 503,
        code: 'dependency_unavailable',
        detail: 'Redis cannot be reached right now; try again shortly.',
        headers: { 'retry-after': '1' },
      });
    }
  }
}

/** The Redis key of a consumed refresh token's entry: the prefix and the token's hex SHA-256. */
function graceKey(refreshToken: string): string {
  return REFRESH_GRACE_KEY_PREFIX + createHash('sha256').update(refreshToken).digest('hex');
}

/**
 * The entry's 256-bit content-encryption key: HKDF-SHA256 of the token. The
 * token is 256 random bits, so no salt is needed (RFC 5869 §3.1).
 */
function entryKey(refreshToken: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', Buffer.from(refreshToken, 'utf8'), Buffer.alloc(0), KEY_INFO, 32));
}
