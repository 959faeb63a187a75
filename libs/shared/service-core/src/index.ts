/**
 * What every service is built on: the Fastify bootstrap with its security
 * defaults, configuration, problem+json errors (RFC 9457), validation, the
 * database and Redis connections, and health checks.
 */
export {
  HTTP_TIMEOUTS,
  INSTANCE_ID,
  createServiceApp,
  runService,
  type HttpTimeouts,
  type ServiceAppOptions,
} from './lib/bootstrap';
export {
  LOG_LEVELS,
  PinoNestLogger,
  createServiceLogger,
  logSecurityEvent,
  requestIdOf,
  type LogLevelName,
  type SecurityEventFields,
  type SecurityEventName,
} from './lib/logging/service-logger';
export { IS_PUBLIC_KEY, Public } from './lib/public.decorator';
export { ConfigError, env, loadConfig, requireProductionDatabase, serviceEnvSchema } from './lib/config/load-config';
export { databaseModuleOptions, databaseOptions, type DatabaseSettings } from './lib/database/database-options';
export { inTransaction } from './lib/database/transaction';
export { printSchemaSql, schemaSql, type SchemaSql } from './lib/database/schema-sql';
export { HealthModule } from './lib/health/health.module';
export { READINESS_PROBES, type ReadinessProbe } from './lib/health/readiness-probe';
export { ProblemException, invalidRequest, notFound, type ProblemInit } from './lib/problem/problem.exception';
export { IgnoreUnknownProperties, parseUuid } from './lib/problem/validation.pipe';
export {
  REDIS_CLIENT,
  RedisModule,
  createRedisClient,
  type RedisClient,
  type RedisTarget,
} from './lib/redis/redis.module';
export { PageQueryDto, type Page } from './lib/http/page-query.dto';
export { CodePointLength, PlainText } from './lib/http/text.validators';
export { withTimeout } from './lib/async/with-timeout';
export { countMemberNames } from './lib/json/member-names';
export {
  LATENCY_BUCKETS_SECONDS,
  MetricsModule,
  ServiceMetrics,
  type MetricsModuleOptions,
} from './lib/metrics/service-metrics';
export {
  OpenApiAccessPolicy,
  OpenApiModule,
  defaultAccess,
  type OpenApiSettings,
  type OperationAccess,
} from './lib/openapi/openapi.module';
export { BEARER_SCHEME, buildOpenApiDocument, type OpenApiBuildOptions } from './lib/openapi/openapi-document';
export {
  ApiProblemResponse,
  PROBLEM_SCHEMA,
  RETRY_AFTER,
  problemExample,
  problemResponse,
} from './lib/openapi/problem-schema';
export { DOCS_PATH, OPENAPI_PATH } from './lib/openapi/openapi.route';
export { schemaTo31, toOpenApi31 } from './lib/openapi/openapi-31';
