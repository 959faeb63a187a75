import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A consumed refresh token records its successor: the row of the token issued
 * in exchange. A second use within the grace window
 * (`REFRESH_TOKEN_REUSE_GRACE_SECONDS`) is answered only while that successor
 * is unused and unrevoked (RFC 9700 §4.14.2). Tokens consumed before have none,
 * so a second use of one is reuse, as it was.
 */
export class RefreshTokenSuccessor1764520000000 implements MigrationInterface {
  name = 'RefreshTokenSuccessor1764520000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "refresh_tokens" ADD "successor_id" character varying(36)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "refresh_tokens" DROP COLUMN "successor_id"`);
  }
}
