import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DataSourceOptions, EntitySchema, MixedList } from 'typeorm';

/** Where a service keeps its data. */
export interface DatabaseSettings {
  /**
   * A PostgreSQL URL (`postgres://user@host:5432/db`). When set, the schema
   * comes from the service's migrations, run at start; never `synchronize`.
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
 * TypeORM options for a service's own database: PostgreSQL with migrations
 * when a URL is given, otherwise SQLite through better-sqlite3.
 *
 * @param settings see {@link DatabaseSettings}
 * @returns options for `TypeOrmModule.forRoot` or `new DataSource`
 */
export function databaseOptions(settings: DatabaseSettings): DataSourceOptions & ConnectRetry {
  if (settings.url) {
    return {
      type: 'postgres',
      url: settings.url,
      entities: settings.entities,
      migrations: settings.migrations,
      migrationsRun: true,
      synchronize: false,
      // @nestjs/typeorm retries a failed first connection; 3 tries, then the start fails with the reason.
      retryAttempts: 3,
      retryDelay: 1000,
      // Fail fast on an unreachable server instead of hanging a request.
      connectTimeoutMS: 5000,
      extra: { max: 10, connectionTimeoutMillis: 5000 },
    };
  }
  if (settings.sqlitePath !== ':memory:') mkdirSync(dirname(settings.sqlitePath), { recursive: true });
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
