import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { Role } from '@jwt-ms/contracts';

/** A user's credentials. Owned by the auth service alone; other services know users only by `sub`. */
@Entity({ name: 'accounts' })
export class Account {
  /** The token `sub`: a UUID. */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** Lower-cased, trimmed. */
  @Column({ type: 'varchar', length: 254, unique: true })
  email!: string;

  /** argon2id PHC string; never the password. */
  @Column({ name: 'password_hash', type: 'varchar', length: 255 })
  passwordHash!: string;

  @Column({ type: 'simple-array' })
  roles!: Role[];

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;
}
