import { verifierEnvSchema } from '@jwt-ms/auth-jwt';
import { loadConfig, requireProductionDatabase, serviceEnvSchema } from '@jwt-ms/service-core';
import type { z } from 'zod';

const schema = serviceEnvSchema({ port: 3002, name: 'orders-service' })
  .extend(verifierEnvSchema({ audience: 'orders-service' }).shape)
  .superRefine(requireProductionDatabase);

/** The orders service's validated configuration. Times in seconds. */
export type OrdersServiceConfig = z.output<typeof schema>;

/**
 * @param source environment variables (default `process.env`)
 * @throws ConfigError listing each invalid variable
 */
export function loadOrdersServiceConfig(source: NodeJS.ProcessEnv = process.env): OrdersServiceConfig {
  return loadConfig(schema, source);
}
