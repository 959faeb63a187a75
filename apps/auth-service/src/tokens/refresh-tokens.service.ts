import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { IsNull, Repository } from 'typeorm';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { RefreshToken } from './refresh-token.entity';

/** Why a refresh token was refused; all are `invalid_grant` to the client (RFC 6749 §5.2). */
export type RefreshRefusal = 'unknown' | 'expired' | 'revoked' | 'reused';

/** Result of {@link RefreshTokensService.consume}. */
export type ConsumeResult = { ok: true; accountId: string; familyId: string } | { ok: false; reason: RefreshRefusal };

/**
 * Opaque, rotating refresh tokens (RFC 6749 §1.5, §6; RFC 9700 §4.14.2).
 * A token is 256 random bits, base64url; the database holds only its SHA-256.
 * Each use consumes it and the caller issues a new one in the same family;
 * presenting a consumed token again revokes its whole family.
 */
@Injectable()
export class RefreshTokensService {
  private readonly logger = new Logger('RefreshTokens');

  constructor(
    @InjectRepository(RefreshToken) private readonly tokens: Repository<RefreshToken>,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
  ) {}

  /**
   * Creates a refresh token valid for `REFRESH_TOKEN_TTL_SECONDS` seconds.
   *
   * @param accountId the account (`sub`)
   * @param familyId the login session it belongs to; a new login passes a new UUID
   * @returns the token string, to hand to the client once
   */
  async create(accountId: string, familyId: string): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.tokens.insert({
      id: randomUUID(),
      tokenHash: hash(token),
      accountId,
      familyId,
      expiresAt: new Date(Date.now() + this.config.REFRESH_TOKEN_TTL_SECONDS * 1000),
      usedAt: null,
      revokedAt: null,
    });
    return token;
  }

  /**
   * Consumes a refresh token: succeeds once per token. The check-and-mark is
   * one conditional UPDATE, so two concurrent uses cannot both succeed.
   *
   * @param token the token string the client sent
   * @returns the account and family on success, otherwise why it was refused
   */
  async consume(token: string): Promise<ConsumeResult> {
    const row = await this.tokens.findOne({ where: { tokenHash: hash(token) } });
    if (!row) return { ok: false, reason: 'unknown' };
    if (row.revokedAt) return { ok: false, reason: 'revoked' };
    if (row.expiresAt.getTime() <= Date.now()) return { ok: false, reason: 'expired' };
    const update = await this.tokens.update(
      { id: row.id, usedAt: IsNull(), revokedAt: IsNull() },
      { usedAt: new Date() },
    );
    if (update.affected !== 1) {
      // Already rotated: someone holds a copy of an old token (RFC 9700 §4.14.2). Kill the family.
      await this.revokeFamily(row.familyId);
      this.logger.warn(
        `security event: refresh token reuse detected; family ${row.familyId} of account ${row.accountId} revoked`,
      );
      return { ok: false, reason: 'reused' };
    }
    return { ok: true, accountId: row.accountId, familyId: row.familyId };
  }

  /** Revokes every refresh token of a login session (logout). */
  async revokeFamily(familyId: string): Promise<void> {
    await this.tokens.update({ familyId, revokedAt: IsNull() }, { revokedAt: new Date() });
  }
}

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
