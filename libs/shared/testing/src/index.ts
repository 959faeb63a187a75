/**
 * Helpers that start processes and servers for tests and local runs: a
 * private redis-server, a private Redis Cluster, the built services as child
 * processes, throw-away PostgreSQL databases, and a wait that does not
 * sleep. For specs, the end-to-end suite and tools/ only; lint refuses it in
 * production code.
 */
export { PrivateRedis } from './lib/private-redis';
export { PrivateRedisCluster, type PrivateRedisClusterNode } from './lib/private-redis-cluster';
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
export { TcpProxy } from './lib/tcp-proxy';
export { waitUntil } from './lib/wait-until';
export {
  documentCoverage,
  openApiPathOf,
  recordServedRoutes,
  validateOpenApi,
  type OpenApiDocumentLike,
  type ServedRoute,
} from './lib/openapi-coverage';
