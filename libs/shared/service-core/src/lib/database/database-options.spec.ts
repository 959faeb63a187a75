import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { databaseOptions, runMigrationsExclusively } from './database-options';

/**
 * Replicas started together against an empty PostgreSQL database (a new
 * Deployment, `docker compose up` with two replicas) all run the migrations at
 * once. Real PostgreSQL: `E2E_POSTGRES_URL`, else postgres@127.0.0.1:5432.
 */
const ADMIN_URL = process.env['E2E_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Slow on purpose, and creates a type: two concurrent runs collide in the catalog. */
class SlowSchema1700000000000 implements MigrationInterface {
  name = 'SlowSchema1700000000000';
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('SELECT pg_sleep(0.3)');
    await queryRunner.query(`CREATE TYPE "order_status" AS ENUM ('placed', 'cancelled')`);
    await queryRunner.query(`CREATE TABLE "orders" ("id" uuid PRIMARY KEY, "status" "order_status" NOT NULL)`);
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE "orders"');
    await queryRunner.query('DROP TYPE "order_status"');
  }
}

class SecondStep1700000000001 implements MigrationInterface {
  name = 'SecondStep1700000000001';
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "orders" ADD "note" text');
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "orders" DROP COLUMN "note"');
  }
}

describe('runMigrationsExclusively (PostgreSQL)', () => {
  const admin = new Client({ connectionString: ADMIN_URL });
  const databases: string[] = [];
  const dataSources: DataSource[] = [];

  beforeAll(() => admin.connect());
  afterEach(async () => {
    await Promise.all(dataSources.splice(0).map((dataSource) => dataSource.destroy().catch(() => undefined)));
  });
  afterAll(async () => {
    for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });

  /** A fresh database, and `replicas` data sources on it as separate replicas would open them. */
  async function replicasOnFreshDatabase(replicas: number): Promise<{ name: string; replicas: DataSource[] }> {
    const name = `jwtms_test_migrations_${randomUUID().slice(0, 8)}`;
    await admin.query(`CREATE DATABASE "${name}"`);
    databases.push(name);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    const opened = await Promise.all(
      Array.from({ length: replicas }, () =>
        new DataSource(
          databaseOptions({
            url: url.toString(),
            sqlitePath: ':memory:',
            entities: [],
            migrations: [SlowSchema1700000000000, SecondStep1700000000001],
          }),
        ).initialize(),
      ),
    );
    dataSources.push(...opened);
    return { name, replicas: opened };
  }

  it('applies the migrations exactly once when four replicas start together', async () => {
    const { replicas } = await replicasOnFreshDatabase(4);
    const applied = await Promise.all(replicas.map((dataSource) => runMigrationsExclusively(dataSource)));

    // One replica applied both, in order; the others found nothing pending.
    expect(applied.filter((names) => names.length > 0)).toEqual([
      ['SlowSchema1700000000000', 'SecondStep1700000000001'],
    ]);
    expect(applied.filter((names) => names.length === 0)).toHaveLength(3);
    const recorded = await replicas[0].query('SELECT name FROM migrations ORDER BY id');
    expect(recorded).toEqual([{ name: 'SlowSchema1700000000000' }, { name: 'SecondStep1700000000001' }]);
    const columns = await replicas[0].query(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' ORDER BY column_name`,
    );
    expect(columns.map((c: { column_name: string }) => c.column_name)).toEqual(['id', 'note', 'status']);
  });

  it('is what keeps them apart: without the lock, the same start collides', async () => {
    const { replicas } = await replicasOnFreshDatabase(2);
    const results = await Promise.allSettled(
      replicas.map((dataSource) => dataSource.runMigrations({ transaction: 'all' })),
    );
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
  });

  it('releases the lock when a migration fails, so the next replica can run them', async () => {
    const { replicas } = await replicasOnFreshDatabase(2);
    const [broken, healthy] = replicas;
    // The first replica's migrations fail halfway (a conflicting object already exists).
    await broken.query('CREATE TABLE "orders" ("id" int)');
    await expect(runMigrationsExclusively(broken)).rejects.toThrow(/already exists/);
    const held = await broken.query(
      `SELECT count(*)::int AS n FROM pg_locks
        WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    expect(held).toEqual([{ n: 0 }]);
    // Nothing half-written: the transaction rolled back, no migration is recorded.
    expect(await broken.query('SELECT count(*)::int AS n FROM migrations')).toEqual([{ n: 0 }]);
    await broken.query('DROP TABLE "orders"');
    await expect(runMigrationsExclusively(healthy)).resolves.toHaveLength(2);
  });
});

describe('the embedded SQLite database (better-sqlite3, WAL)', () => {
  it('is readable by its owner only: the database, its -wal and -shm files, and a folder it creates', async () => {
    const root = mkdtempSync(join(tmpdir(), 'jwtms-sqlite-'));
    const path = join(root, 'data', 'auth.sqlite');
    const previous = process.umask(0o022); // the usual default, which makes files 0644
    try {
      const source = await new DataSource(
        databaseOptions({ sqlitePath: path, entities: [], migrations: [] }),
      ).initialize();
      await source.query('CREATE TABLE secrets (hash text)');
      await source.query(`INSERT INTO secrets VALUES ('$argon2id$v=19$m=65536,t=3,p=4$not-a-real-hash')`);
      const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);
      expect({
        db: mode(path),
        wal: mode(`${path}-wal`),
        shm: mode(`${path}-shm`),
        dir: mode(join(root, 'data')),
      }).toEqual({ db: '600', wal: '600', shm: '600', dir: '700' });
      await source.destroy();
    } finally {
      process.umask(previous);
      rmSync(root, { recursive: true, force: true });
    }
  });
});
