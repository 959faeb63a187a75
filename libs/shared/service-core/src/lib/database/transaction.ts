import type { DataSource, EntityManager } from 'typeorm';

/** The tail of the queue of transactions per embedded database. */
const queues = new WeakMap<DataSource, Promise<unknown>>();

/**
 * Runs `work` in one database transaction: all of it is written, or none.
 *
 * PostgreSQL gives each transaction its own pooled connection. The embedded
 * SQLite database (better-sqlite3) has one connection, on which two
 * transactions begun by concurrent requests would interleave ("cannot start a
 * transaction within a transaction", or a commit that takes the other
 * request's writes with it); there, transactions run one after another.
 *
 * @param dataSource the service's TypeORM data source
 * @param work the writes, through the given entity manager only
 * @returns what `work` returns
 * @throws whatever `work` throws, after rolling back
 */
export function inTransaction<T>(dataSource: DataSource, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  if (dataSource.options.type !== 'better-sqlite3') return dataSource.transaction(work);
  const previous = queues.get(dataSource) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(() => dataSource.transaction(work));
  queues.set(dataSource, next);
  return next;
}
