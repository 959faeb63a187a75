import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * PostgreSQL schema of the orders service: orders and their items.
 * Generated with `npm run schema-sql:orders`, then reviewed.
 */
export class OrdersSchema1764480000000 implements MigrationInterface {
  name = 'OrdersSchema1764480000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "orders" ("id" character varying(36) NOT NULL, "owner_id" character varying(36) NOT NULL, "status" character varying(16) NOT NULL, "total_cents" integer NOT NULL, "created_at" TIMESTAMP NOT NULL DEFAULT now(), "updated_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_710e2d4957aa5878dfe94e4ac2f" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_e5e3453db50ea9de6f0e4bfec1" ON "orders" ("owner_id") `);
    await queryRunner.query(
      `CREATE TABLE "order_items" ("id" character varying(36) NOT NULL, "position" integer NOT NULL, "sku" character varying(64) NOT NULL, "quantity" integer NOT NULL, "unit_price_cents" integer NOT NULL, "order_id" character varying(36) NOT NULL, CONSTRAINT "PK_005269d8574e6fac0493715c308" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_145532db85752b29c57d2b7b1f" ON "order_items" ("order_id") `);
    await queryRunner.query(
      `ALTER TABLE "order_items" ADD CONSTRAINT "FK_145532db85752b29c57d2b7b1f1" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "order_items" DROP CONSTRAINT "FK_145532db85752b29c57d2b7b1f1"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_145532db85752b29c57d2b7b1f"`);
    await queryRunner.query(`DROP TABLE "order_items"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_e5e3453db50ea9de6f0e4bfec1"`);
    await queryRunner.query(`DROP TABLE "orders"`);
  }
}
