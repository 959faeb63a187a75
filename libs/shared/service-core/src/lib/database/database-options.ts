import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { Logger } from '@nestjs/common';
import type { TypeOrmModuleAsyncOptions } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions, type EntitySchema, type MixedList } from 'typeorm';

/** Where a service keeps its data. */
export interface DatabaseSettings {
  /**
   * A PostgreSQL URL (`postgres://user@host:5432/db`). When set, the schema
   * comes from the service's migrations, run at start by one replica at a time
   * ({@link runMigrationsExclusively}); never `synchronize`.
   */
  url?: string;
  /**
   * The embedded SQLite file used when `url` is absent (`:memory:` allowed).
   * Its schema is synchronised from the entities: a laptop run needs no server.
   */
  sqlitePath: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function | string>;
}

/** How `TypeOrmModule` retries its first connection (ignored by a bare `DataSource`). */
export interface ConnectRetry {
  retryAttempts?: number;
  /** Milliseconds between attempts. */
  retryDelay?: number;
}

/**
 * TypeORM options for a service's own database: PostgreSQL when a URL is given
 * (migrations are not run by TypeORM itself: see {@link databaseModuleOptions}),
 * otherwise SQLite through better-sqlite3, its schema synchronised from the entities.
 *
 * @param settings see {@link DatabaseSettings}
 * @returns options for `new DataSource` (or `TypeOrmModule.forRoot`, without migrations)
 */
export function databaseOptions(settings: DatabaseSettings): DataSourceOptions & ConnectRetry {
  if (settings.url) {
    return {
      type: 'postgres',
      url: settings.url,
      entities: settings.entities,
      migrations: settings.migrations,
      // Run by runMigrationsExclusively, under a lock: replicas start together.
      migrationsRun: false,
      migrationsTransactionMode: 'all',
      synchronize: false,
      // @nestjs/typeorm retries a failed first connection: 6 tries 2 s apart (at most ~40 s with the
      // 5 s connect timeout, inside the 60 s startup probe), so pods started with PostgreSQL wait for
      // it instead of restarting; then the start fails with the reason.
      retryAttempts: 6,
      retryDelay: 2000,
      // Fail fast on an unreachable server instead of hanging a request.
      connectTimeoutMS: 5000,
      extra: { max: 10, connectionTimeoutMillis: 5000 },
    };
  }
  if (settings.sqlitePath !== ':memory:') createPrivateDatabaseFile(settings.sqlitePath);
  return {
    type: 'better-sqlite3',
    database: settings.sqlitePath,
    entities: settings.entities,
    synchronize: true,
    // WAL lets readers and the writer proceed at once in the embedded default.
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
    },
  };
}

/**
 * PostgreSQL advisory lock key held while migrations run (any 64-bit integer
 * that nothing else in the database uses; advisory locks are per database).
 */
export const MIGRATION_LOCK_KEY = 7_402_113_651;

/**
 * Runs the pending migrations of an initialised data source, one process at a
 * time: on PostgreSQL under a session-level advisory lock
 * (`pg_advisory_lock`), so that replicas started together against an empty
 * database do not both create the same tables and types (the second would fail
 * on a unique violation in the catalog). The others wait for the lock, then find
 * nothing pending, logging that they wait. All pending migrations run in one
 * transaction. The lock goes with its connection if the process dies. (A
 * session-level lock needs a direct connection or session pooling, not
 * PgBouncer's transaction pooling.) SQLite (one process per file) runs
 * them directly.
 *
 * @param dataSource an initialised TypeORM data source with its `migrations`
 * @returns the names of the migrations this call applied, in order (empty when none were pending)
 * @throws the migration's own error (the transaction is rolled back, the lock released)
 */
export async function runMigrationsExclusively(dataSource: DataSource): Promise<string[]> {
  const run = async () => (await dataSource.runMigrations({ transaction: 'all' })).map((migration) => migration.name);
  if (dataSource.options.type !== 'postgres') return run();
  const lockHolder = dataSource.createQueryRunner();
  await lockHolder.connect();
  try {
    const [{ locked }] = await lockHolder.query('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK_KEY]);
    if (!locked) {
      // Say why the start pauses: another replica migrates (or a session holds the lock and is stuck).
      new Logger('Migrations').log(`waiting for another process's migrations (advisory lock ${MIGRATION_LOCK_KEY})`);
      await lockHolder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    }
    try {
      return await run();
    } finally {
      await lockHolder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await lockHolder.release();
  }
}

/**
 * `TypeOrmModule.forRootAsync` options for a service's own database: the
 * options of {@link databaseOptions}, and a data source factory that connects,
 * then runs the pending migrations with {@link runMigrationsExclusively}.
 * `@nestjs/typeorm` retries the whole factory (`retryAttempts`, `retryDelay`
 * milliseconds) when it fails, and the start fails after the last attempt.
 *
 * @param settings see {@link DatabaseSettings}
 */
export function databaseModuleOptions(settings: DatabaseSettings): TypeOrmModuleAsyncOptions {
  const options = databaseOptions(settings);
  return {
    useFactory: () => options,
    dataSourceFactory: async (factoryOptions?: DataSourceOptions) => {
      const dataSource = await new DataSource(factoryOptions ?? options).initialize();
      try {
        await runMigrationsExclusively(dataSource);
      } catch (error) {
        await dataSource.destroy();
        throw error;
      }
      return dataSource;
    },
  };
}

/**
 * Creates the SQLite file (and its folder) readable by this user only, before
 * SQLite opens it: the database holds argon2 hashes and refresh-token hashes.
 * SQLite gives its `-wal` and `-shm` files the database file's mode, so they
 * are private too. A file left readable by an older version is tightened.
 *
 * @param path the database file
 */
export function createPrivateDatabaseFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(file)) chmodSync(file, 0o600);
}
