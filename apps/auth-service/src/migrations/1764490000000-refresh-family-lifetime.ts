import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Refresh-token families get an absolute lifetime: each token records when its
 * family's login happened. Existing tokens count from their own creation.
 */
export class RefreshFamilyLifetime1764490000000 implements MigrationInterface {
  name = 'RefreshFamilyLifetime1764490000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "refresh_tokens" ADD "family_started_at" TIMESTAMP`);
    await queryRunner.query(`UPDATE "refresh_tokens" SET "family_started_at" = "created_at"`);
    await queryRunner.query(`ALTER TABLE "refresh_tokens" ALTER COLUMN "family_started_at" SET NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "refresh_tokens" DROP COLUMN "family_started_at"`);
  }
}
