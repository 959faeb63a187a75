import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { IsNull, Repository } from 'typeorm';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { AUTH_CLOCK, type AuthClock } from '../auth/auth-clock';
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
  | ({
      ok: true;
      /** The consumed token's row. */
      tokenId: string;
      /** The row id the next token of the family must get ({@link RefreshTokensService.create}): recorded already. */
      successorId: string;
    } & RefreshFamily)
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'expired' | 'revoked'; familyId: string; accountId: string }
  | {
      ok: false;
      reason: 'reused';
      familyId: string;
      accountId: string;
      tokenId: string;
      /** When the token was used. */
      usedAt: Date;
      /** The row of the token issued in exchange, null for a token used before successors were recorded. */
      successorId: string | null;
    };

/**
 * Opaque, rotating refresh tokens (RFC 6749 §1.5, §6; RFC 9700 §4.14.2).
 * A token is 256 random bits, base64url; the database holds only its SHA-256.
 * Tokens of one login form a family. Each use consumes the token, recording
 * the id of its successor, and the caller issues that next token of the
 * family; a consumed token presented again is reported `reused`, with its
 * successor, for the caller to decide (AuthService: the grace window, or the
 * revocation of the whole family). A token expires after the idle timeout, and
 * no token outlives the family's absolute lifetime. Times come from the
 * {@link AUTH_CLOCK} (milliseconds since the epoch).
 */
@Injectable()
export class RefreshTokensService {
  private readonly now: AuthClock;

  constructor(
    @InjectRepository(RefreshToken) private readonly tokens: Repository<RefreshToken>,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
    @Optional() @Inject(AUTH_CLOCK) now?: AuthClock,
  ) {
    this.now = now ?? Date.now;
  }

  /**
   * Creates the next refresh token of a family, expiring after
   * `REFRESH_TOKEN_IDLE_TIMEOUT_SECONDS`, or at the end of the family's
   * `REFRESH_TOKEN_ABSOLUTE_LIFETIME_SECONDS`, whichever comes first.
   *
   * @param family the account and session; a new login passes a new family id and its start
   * @param id the row id: a rotation passes the `successorId` that {@link consume} recorded on the consumed token
   * @returns the token string, to hand to the client once
   */
  async create(family: RefreshFamily, id: string = randomUUID()): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const now = this.now();
    const idleEnd = now + this.config.REFRESH_TOKEN_IDLE_TIMEOUT_SECONDS * 1000;
    const absoluteEnd = family.startedAt.getTime() + this.config.REFRESH_TOKEN_ABSOLUTE_LIFETIME_SECONDS * 1000;
    await this.tokens.insert({
      id,
      tokenHash: hash(token),
      accountId: family.accountId,
      familyId: family.familyId,
      familyStartedAt: family.startedAt,
      expiresAt: new Date(Math.min(idleEnd, absoluteEnd)),
      usedAt: null,
      successorId: null,
      revokedAt: null,
    });
    return token;
  }

  /**
   * Consumes a refresh token: succeeds once per token. The check-and-mark is
   * one conditional UPDATE, which also records the id of the successor the
   * caller is to create, so two concurrent uses cannot both succeed, and the
   * loser, on any replica, learns at once which token the winner issues.
   * A consumed token is reported `reused` with when it was used and its
   * successor: the caller decides between the grace window and revoking the
   * session (AuthService.refresh). Nothing is logged here: only the caller knows
   * whether this is a security event.
   *
   * @param token the token string the client sent
   * @returns the family and the successor's id on success, otherwise why it was refused
   */
  async consume(token: string): Promise<ConsumeResult> {
    const row = await this.tokens.findOne({ where: { tokenHash: hash(token) } });
    if (!row) return { ok: false, reason: 'unknown' };
    const { familyId, accountId } = row;
    if (row.revokedAt) return { ok: false, reason: 'revoked', familyId, accountId };
    if (row.expiresAt.getTime() <= this.now()) return { ok: false, reason: 'expired', familyId, accountId };
    const successorId = randomUUID();
    const update = await this.tokens.update(
      { id: row.id, usedAt: IsNull(), revokedAt: IsNull() },
      { usedAt: new Date(this.now()), successorId },
    );
    if (update.affected === 1) {
      return { ok: true, tokenId: row.id, successorId, accountId, familyId, startedAt: row.familyStartedAt };
    }
    // Consumed (or revoked) before, or a moment ago by a concurrent use: what the row says now decides.
    const current = await this.tokens.findOne({ where: { id: row.id } });
    if (!current || current.revokedAt) return { ok: false, reason: 'revoked', familyId, accountId };
    // Used, then released again (its issuance failed) between the UPDATE and this read: a retry takes it.
    if (!current.usedAt) return this.consume(token);
    return {
      ok: false,
      reason: 'reused',
      familyId,
      accountId,
      tokenId: row.id,
      usedAt: current.usedAt,
      successorId: current.successorId,
    };
  }

  /**
   * One refresh token's row by id, whatever its state (the grace window reads
   * the consumed token's and its successor's).
   *
   * @returns the row, or null when there is none (never created, or deleted with its account)
   */
  findById(id: string): Promise<RefreshToken | null> {
    return this.tokens.findOne({ where: { id } });
  }

  /**
   * @param row a refresh token's row
   * @returns true when it is expired by the {@link AUTH_CLOCK}
   */
  isExpired(row: RefreshToken): boolean {
    return row.expiresAt.getTime() <= this.now();
  }

  /**
   * Looks a refresh token up without consuming it (introspection, revocation).
   *
   * @returns the token's row when it is active (known, unused, unrevoked, unexpired), else null
   */
  async findActive(token: string): Promise<RefreshToken | null> {
    const row = await this.tokens.findOne({ where: { tokenHash: hash(token) } });
    if (!row || row.usedAt || row.revokedAt || this.isExpired(row)) return null;
    return row;
  }

  /**
   * Undoes a {@link consume} whose new tokens could not be issued (Redis
   * unreachable), so that the client's retry is not mistaken for a replay:
   * the token is unused again, with no successor.
   *
   * @param tokenId the consumed token's row id
   */
  async release(tokenId: string): Promise<void> {
    await this.tokens.update({ id: tokenId, revokedAt: IsNull() }, { usedAt: null, successorId: null });
  }

  /** Deletes one refresh token that was never handed out (its issuance failed). */
  async delete(token: string): Promise<void> {
    await this.tokens.delete({ tokenHash: hash(token) });
  }

  /** Revokes every refresh token of a login session (logout, reuse). */
  async revokeFamily(familyId: string): Promise<void> {
    await this.tokens.update({ familyId, revokedAt: IsNull() }, { revokedAt: new Date(this.now()) });
  }

  /** Revokes every refresh token of an account (logout everywhere, password change). */
  async revokeAccount(accountId: string): Promise<void> {
    await this.tokens.update({ accountId, revokedAt: IsNull() }, { revokedAt: new Date(this.now()) });
  }

  /** Deletes every refresh token of an account (account deletion). */
  async deleteAccount(accountId: string): Promise<void> {
    await this.tokens.delete({ accountId });
  }
}

function hash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
