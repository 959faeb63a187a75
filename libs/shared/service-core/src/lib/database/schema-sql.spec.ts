import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { schemaSql } from './schema-sql';

/** Real PostgreSQL: `E2E_POSTGRES_URL`, else postgres@127.0.0.1:5432. */
const ADMIN_URL = process.env['E2E_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

@Entity({ name: 'schema_sql_samples' })
class Sample {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'integer' })
  count!: number;
}

describe('schemaSql (PostgreSQL)', () => {
  const admin = new Client({ connectionString: ADMIN_URL });
  const name = `jwtms_test_schema_sql_${randomUUID().slice(0, 8)}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
  }, 30_000);
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }, 30_000);

  it('on an empty database: the statements that create the entities, and those that drop them', async () => {
    const { up, down } = await schemaSql([Sample], url.toString());
    expect(up).toEqual([
      expect.stringMatching(
        /^CREATE TABLE "schema_sql_samples" \("id" character varying\(36\) NOT NULL, "count" integer NOT NULL, .*\);$/,
      ),
    ]);
    expect(down).toEqual(['DROP TABLE "schema_sql_samples";']);
  }, 30_000);

  it('writes nothing, and gives only the difference from what is there', async () => {
    const tables = `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'schema_sql_samples'`;
    const database = new Client({ connectionString: url.toString() });
    await database.connect();
    try {
      expect((await database.query(tables)).rows[0].n).toBe(0);
      const { up } = await schemaSql([Sample], url.toString());
      await database.query(up.join('\n'));
      expect(await schemaSql([Sample], url.toString())).toEqual({ up: [], down: [] });
    } finally {
      await database.end();
    }
  }, 30_000);
});
