import { DataSource, type EntitySchema, type MixedList } from 'typeorm';

/** The DDL of a schema: what creates it, and what undoes that, in the order to run each. */
export interface SchemaSql {
  up: string[];
  down: string[];
}

/**
 * The PostgreSQL DDL that TypeORM would run to create `entities` in the
 * database at `url`: the starting point of a hand-checked migration. It reads
 * the database's catalog and writes nothing, so the result is the difference
 * from what is there: give it an empty database for the whole schema.
 *
 * @param entities the service's entity classes, as its module lists them
 * @param url a PostgreSQL URL, e.g. `postgres://postgres@127.0.0.1:5432/test`
 * @returns the statements, each ending with `;`
 * @throws Error when the database cannot be reached (TypeORM's or pg's error)
 */
export async function schemaSql(
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM's own entity list type
  entities: MixedList<Function | string | EntitySchema>,
  url: string,
): Promise<SchemaSql> {
  const source = new DataSource({ type: 'postgres', url, entities });
  await source.initialize();
  try {
    const sql = await source.driver.createSchemaBuilder().log();
    return {
      up: sql.upQueries.map((query) => `${query.query};`),
      down: sql.downQueries.reverse().map((query) => `${query.query};`),
    };
  } finally {
    await source.destroy();
  }
}

/**
 * A service's `schema-sql` command: prints {@link schemaSql} of its entities
 * for the database at `SCHEMA_SQL_DATABASE_URL` (default
 * `postgres://postgres@127.0.0.1:5432/test`), the down statements after a
 * `-- down` line; on failure prints the error and exits with code 1.
 *
 * @param entities the service's entity classes
 */
export async function printSchemaSql(
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM's own entity list type
  entities: MixedList<Function | string | EntitySchema>,
): Promise<void> {
  try {
    const url = process.env['SCHEMA_SQL_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
    const { up, down } = await schemaSql(entities, url);
    process.stdout.write([...up, '-- down', ...down, ''].join('\n'));
  } catch (error) {
    console.error(error);
    process.exit(1);
  }
}
