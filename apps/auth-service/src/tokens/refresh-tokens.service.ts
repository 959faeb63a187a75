import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { IsNull, Repository } from 'typeorm';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { RefreshToken } from './refresh-token.entity';

/** Why a refresh token was refused; all are `invalid_grant` to the client (RFC 6749 §5.2). */
export type RefreshRefusal = 'unknown' | 'expired' | 'revoked' | 'reused';

/** A login session: the family its refresh tokens belong to. */
export interface RefreshFamily {
  accountId: string;
  familyId: string;
  /** When the login happened; the absolute lifetime counts from here. */
  startedAt: Date;
}

/** Result of {@link RefreshTokensService.consume}. */
export type ConsumeResult =
  | ({ ok: true; tokenId: string } & RefreshFamily)
  | { ok: false; reason: RefreshRefusal; familyId?: string; accountId?: string };

/**
 * Opaque, rotating refresh tokens (RFC 6749 §1.5, §6; RFC 9700 §4.14.2).
 * A token is 256 random bits, base64url; the database holds only its SHA-256.
 * Tokens of one login form a family. Each use consumes the token and the
 * caller issues the next one in the same family; presenting a consumed token
 * again revokes the whole family. A token expires after the idle timeout, and
 * no token outlives the family's absolute lifetime.
 */
@Injectable()
export class RefreshTokensService {
  private readonly logger = new Logger('RefreshTokens');

  constructor(
    @InjectRepository(RefreshToken) private readonly tokens: Repository<RefreshToken>,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
  ) {}

  /**
   * Creates the next refresh token of a family, expiring after
   * `REFRESH_TOKEN_IDLE_TIMEOUT_SECONDS`, or at the end of the family's
   * `REFRESH_TOKEN_ABSOLUTE_LIFETIME_SECONDS`, whichever comes first.
   *
   * @param family the account and session; a new login passes a new family id and `startedAt = now`
   * @returns the token string, to hand to the client once
   */
  async create(family: RefreshFamily): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    const idleEnd = now + this.config.REFRESH_TOKEN_IDLE_TIMEOUT_SECONDS * 1000;
    const absoluteEnd = family.startedAt.getTime() + this.config.REFRESH_TOKEN_ABSOLUTE_LIFETIME_SECONDS * 1000;
    await this.tokens.insert({
      id: randomUUID(),
      tokenHash: hash(token),
      accountId: family.accountId,
      familyId: family.familyId,
      familyStartedAt: family.startedAt,
      expiresAt: new Date(Math.min(idleEnd, absoluteEnd)),
      usedAt: null,
      revokedAt: null,
    });
    return token;
  }

  /**
   * Consumes a refresh token: succeeds once per token. The check-and-mark is
   * one conditional UPDATE, so two concurrent uses cannot both succeed.
   * A second use of a consumed token is reported as `reused` with its
   * `familyId`: the caller must revoke the session.
   *
   * @param token the token string the client sent
   * @returns the family on success, otherwise why it was refused
   */
  async consume(token: string): Promise<ConsumeResult> {
    const row = await this.tokens.findOne({ where: { tokenHash: hash(token) } });
    if (!row) return { ok: false, reason: 'unknown' };
    const refused = (reason: RefreshRefusal): ConsumeResult => ({
      ok: false,
      reason,
      familyId: row.familyId,
      accountId: row.accountId,
    });
    if (row.revokedAt) return refused('revoked');
    if (row.expiresAt.getTime() <= Date.now()) return refused('expired');
    const update = await this.tokens.update(
      { id: row.id, usedAt: IsNull(), revokedAt: IsNull() },
      { usedAt: new Date() },
    );
    if (update.affected !== 1) {
      // Consumed before: a copy of an old token is in someone's hands (RFC 9700 §4.14.2).
      // The caller revokes the session: in Redis first, then here (see AuthService.refresh).
      this.logger.warn(
        `security event: refresh token reuse detected; session ${row.familyId} of account ${row.accountId} is revoked`,
      );
      return refused('reused');
    }
    return {
      ok: true,
      tokenId: row.id,
      accountId: row.accountId,
      familyId: row.familyId,
      startedAt: row.familyStartedAt,
    };
  }

  /**
   * Looks a refresh token up without consuming it (introspection, revocation).
   *
   * @returns the token's row when it is active (known, unused, unrevoked, unexpired), else null
   */
  async findActive(token: string): Promise<RefreshToken | null> {
    const row = await this.tokens.findOne({ where: { tokenHash: hash(token) } });
    if (!row || row.usedAt || row.revokedAt || row.expiresAt.getTime() <= Date.now()) return null;
    return row;
  }

  /**
   * Undoes a {@link consume} whose new tokens could not be issued (Redis
   * unreachable), so that the client's retry is not mistaken for a replay.
   *
   * @param tokenId the consumed token's row id
   */
  async release(tokenId: string): Promise<void> {
    await this.tokens.update({ id: tokenId, revokedAt: IsNull() }, { usedAt: null });
  }

  /** Deletes one refresh token that was never handed out (its issuance failed). */
  async delete(token: string): Promise<void> {
    await this.tokens.delete({ tokenHash: hash(token) });
  }

  /** Revokes every refresh token of a login session (logout, reuse). */
  async revokeFamily(familyId: string): Promise<void> {
    await this.tokens.update({ familyId, revokedAt: IsNull() }, { revokedAt: new Date() });
  }

  /** Revokes every refresh token of an account (logout everywhere, password change). */
  async revokeAccount(accountId: string): Promise<void> {
    await this.tokens.update({ accountId, revokedAt: IsNull() }, { revokedAt: new Date() });
  }

  /** Deletes every refresh token of an account (account deletion). */
  async deleteAccount(accountId: string): Promise<void> {
    await this.tokens.delete({ accountId });
  }
}

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
