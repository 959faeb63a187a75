/**
 * Helpers that start processes and servers for tests and local runs: a
 * private redis-server, the built services as child processes, throw-away
 * PostgreSQL databases, and a wait that does not sleep. For specs, the
 * end-to-end suite and tools/ only; lint refuses it in production code.
 */
export { PrivateRedis } from './lib/private-redis';
export {
  Databases,
  ISSUER_ONLY_ENV,
  ROOT,
  launchScript,
  launchService,
  serviceEnv,
  stopProcess,
  type RunningService,
  type ServiceName,
} from './lib/service-processes';
export { waitUntil } from './lib/wait-until';
