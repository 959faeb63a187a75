import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An order records the customer's display name when it was placed, read from
 * users-service on their behalf. Orders placed before have none (null), as a
 * customer without a display name.
 */
export class OrderCustomerName1764530000000 implements MigrationInterface {
  name = 'OrderCustomerName1764530000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "orders" ADD "customer_name" character varying(100)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "orders" DROP COLUMN "customer_name"`);
  }
}
