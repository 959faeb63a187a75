import { verifierEnvSchema } from '@jwt-ms/auth-jwt';
import { loadConfig, requireProductionDatabase, serviceEnvSchema } from '@jwt-ms/service-core';
import type { z } from 'zod';

const schema = serviceEnvSchema({ port: 3001, name: 'users-service' })
  .extend(verifierEnvSchema({ audience: 'users-service' }).shape)
  .superRefine(requireProductionDatabase);

/** The users service's validated configuration. Times in seconds. */
export type UsersServiceConfig = z.output<typeof schema>;

/**
 * @param source environment variables (default `process.env`)
 * @throws ConfigError listing each invalid variable
 */
export function loadUsersServiceConfig(source: NodeJS.ProcessEnv = process.env): UsersServiceConfig {
  return loadConfig(schema, source);
}
