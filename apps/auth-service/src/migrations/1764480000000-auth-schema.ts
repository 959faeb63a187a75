import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * PostgreSQL schema of the auth service: accounts and refresh tokens.
 * Generated with `npm run schema-sql:auth`, then reviewed.
 */
export class AuthSchema1764480000000 implements MigrationInterface {
  name = 'AuthSchema1764480000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "accounts" ("id" character varying(36) NOT NULL, "email" character varying(254) NOT NULL, "password_hash" character varying(255) NOT NULL, "roles" text NOT NULL, "created_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "UQ_ee66de6cdc53993296d1ceb8aa0" UNIQUE ("email"), CONSTRAINT "PK_5a7a02c20412299d198e097a8fe" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "refresh_tokens" ("id" character varying(36) NOT NULL, "token_hash" character varying(64) NOT NULL, "account_id" character varying(36) NOT NULL, "family_id" character varying(36) NOT NULL, "expires_at" TIMESTAMP NOT NULL, "used_at" TIMESTAMP, "revoked_at" TIMESTAMP, "created_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_7d8bee0204106019488c4c50ffa" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "IDX_a7838d2ba25be1342091b6695f" ON "refresh_tokens" ("token_hash")`);
    await queryRunner.query(`CREATE INDEX "IDX_e7d078bbcae8ab94aa0d5f9015" ON "refresh_tokens" ("account_id")`);
    await queryRunner.query(`CREATE INDEX "IDX_d5e27da0cd39bc3bb2811fc8ba" ON "refresh_tokens" ("family_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "refresh_tokens"`);
    await queryRunner.query(`DROP TABLE "accounts"`);
  }
}
