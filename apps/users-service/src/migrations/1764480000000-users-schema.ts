import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * PostgreSQL schema of the users service: profiles.
 * Generated with `npm run schema-sql:users`, then reviewed.
 */
export class UsersSchema1764480000000 implements MigrationInterface {
  name = 'UsersSchema1764480000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "profiles" ("id" character varying(36) NOT NULL, "email" character varying(254) NOT NULL, "display_name" character varying(100), "created_at" TIMESTAMP NOT NULL DEFAULT now(), "updated_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_8e520eb4da7dc01d0e190447c8e" PRIMARY KEY ("id"))`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "profiles"`);
  }
}
