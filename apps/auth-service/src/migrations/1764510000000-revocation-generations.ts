import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The generations of the revocation list the issuer established (see RevocationGenerationRecord). */
export class RevocationGenerations1764510000000 implements MigrationInterface {
  name = 'RevocationGenerations1764510000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "revocation_generations" ("id" character varying(64) NOT NULL, "established_at" TIMESTAMP NOT NULL, CONSTRAINT "PK_revocation_generations" PRIMARY KEY ("id"))`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "revocation_generations"`);
  }
}
