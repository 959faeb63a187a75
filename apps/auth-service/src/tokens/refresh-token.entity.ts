import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One refresh token. The token itself is an opaque random string given to the
 * client once; only its SHA-256 hash is stored, so a database leak yields no
 * usable token. Tokens of one login form a family (`familyId`, the `sid` of
 * the access tokens issued with them).
 */
@Entity({ name: 'refresh_tokens' })
export class RefreshToken {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** Hex SHA-256 of the token string. */
  @Index({ unique: true })
  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash!: string;

  @Index()
  @Column({ name: 'account_id', type: 'varchar', length: 36 })
  accountId!: string;

  /** The login session; equals the `sid` claim of access tokens issued with this family. */
  @Index()
  @Column({ name: 'family_id', type: 'varchar', length: 36 })
  familyId!: string;

  /** When the login that started the family happened: the absolute lifetime counts from here. */
  @Column({ name: 'family_started_at', type: Date })
  familyStartedAt!: Date;

  /** min(issued + idle timeout, family start + absolute lifetime). */
  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;

  /** Set when the token was exchanged for a new pair (rotation); it cannot be used again. */
  @Column({ name: 'used_at', type: Date, nullable: true })
  usedAt!: Date | null;

  /**
   * Set with `usedAt`: the id of the token issued in exchange for this one (its
   * immediate successor). A second use of this token within the grace window is
   * answered with the same pair only while that successor is unused and
   * unrevoked; null for a token not used yet (or used before successors were recorded).
   */
  @Column({ name: 'successor_id', type: 'varchar', length: 36, nullable: true })
  successorId!: string | null;

  /** Set on logout or on reuse detection; the token cannot be used. */
  @Column({ name: 'revoked_at', type: Date, nullable: true })
  revokedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;
}
