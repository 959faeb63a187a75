import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * A user's profile. Its id is the access token's `sub`; it is created from
 * the token's claims on the user's first authenticated request, so
 * registration needs no call between services.
 */
@Entity({ name: 'profiles' })
export class Profile {
  /** The token `sub`. */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** The `email` claim when the profile was created. */
  @Column({ type: 'varchar', length: 254 })
  email!: string;

  @Column({ name: 'display_name', type: 'varchar', length: 100, nullable: true })
  displayName!: string | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt!: Date;
}
