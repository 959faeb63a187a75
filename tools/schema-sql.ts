/**
 * Prints the PostgreSQL DDL that a service's entities need, as TypeORM would
 * create it: the starting point of a hand-checked migration.
 *
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register tools/schema-sql.ts <service>
 *
 * Needs a PostgreSQL database it may write to (SCHEMA_SQL_DATABASE_URL,
 * default postgres://postgres@127.0.0.1:5432/test); it creates nothing there.
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';

async function main(): Promise<void> {
  const service = process.argv[2];
  const entities: Record<string, () => Promise<unknown[]>> = {
    'auth-service': async () => {
      // eslint-disable-next-line @nx/enforce-module-boundaries -- a dev tool that reads the apps' entities
      const { Account } = await import('../apps/auth-service/src/accounts/account.entity');
      // eslint-disable-next-line @nx/enforce-module-boundaries -- a dev tool that reads the apps' entities
      const { RefreshToken } = await import('../apps/auth-service/src/tokens/refresh-token.entity');
      // eslint-disable-next-line @nx/enforce-module-boundaries -- a dev tool that reads the apps' entities
      const { RevocationGenerationRecord } = await import(
        '../apps/auth-service/src/revocation/revocation-generation.entity'
      );
      return [Account, RefreshToken, RevocationGenerationRecord];
    },
    'users-service': async () => {
      // eslint-disable-next-line @nx/enforce-module-boundaries -- a dev tool that reads the apps' entities
      const { Profile } = await import('../apps/users-service/src/profiles/profile.entity');
      return [Profile];
    },
    'orders-service': async () => {
      // eslint-disable-next-line @nx/enforce-module-boundaries -- a dev tool that reads the apps' entities
      const { Order, OrderItem } = await import('../apps/orders-service/src/orders/order.entity');
      return [Order, OrderItem];
    },
  };
  if (!entities[service]) throw new Error(`usage: schema-sql <${Object.keys(entities).join('|')}>`);
  const source = new DataSource({
    type: 'postgres',
    url: process.env['SCHEMA_SQL_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    entities: (await entities[service]()) as any,
  });
  await source.initialize();
  const sql = await source.driver.createSchemaBuilder().log();
  for (const query of sql.upQueries) console.log(`${query.query};`);
  console.log('-- down');
  for (const query of sql.downQueries.reverse()) console.log(`${query.query};`);
  await source.destroy();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
