import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One generation of the revocation list that this issuer established in Redis.
 * The table is the issuer's durable memory that a list existed: when Redis's
 * marker is gone but a row is here, Redis lost the list (see
 * RevocationGenerationKeeper); when the table is empty, this is a first start.
 */
@Entity({ name: 'revocation_generations' })
export class RevocationGenerationRecord {
  /** The generation id, as in the Redis marker. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ name: 'established_at', type: Date })
  establishedAt!: Date;
}
