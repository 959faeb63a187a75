import { NodeSDK } from '@opentelemetry/sdk-node';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { RedisInstrumentation } from '@opentelemetry/instrumentation-redis';
import type { IncomingMessage } from 'node:http';
import { onTracingShutdown } from './request-spans';

/**
 * Query parameters whose values never reach a span's URL attributes: OAuth 2.0
 * codes, tokens and secrets (RFC 6749 §4.1.2, §4.2.2; RFC 7636 §4.5), besides
 * the instrumentation's own list of signed-URL parameters.
 */
export const REDACTED_QUERY_PARAMETERS: readonly string[] = [
  'code',
  'code_verifier',
  'state',
  'access_token',
  'refresh_token',
  'id_token',
  'token',
  'client_secret',
  'password',
  'assertion',
  'subject_token',
  'actor_token',
  'sig',
  'Signature',
  'X-Amz-Signature',
  'X-Goog-Signature',
  'AWSAccessKeyId',
];

/** Paths probed or scraped every few seconds: a span for each would drown the requests worth tracing. */
const UNTRACED_PATHS = /^\/(metrics|health\/(live|ready))(\?|$)/;

/**
 * Whether the standard variables ask for traces: an OTLP endpoint is set
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`),
 * `OTEL_SDK_DISABLED` is not `true` and `OTEL_TRACES_EXPORTER` is not `none`.
 *
 * @param env the process environment
 */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env['OTEL_SDK_DISABLED'] ?? '').trim().toLowerCase() === 'true') return false;
  if ((env['OTEL_TRACES_EXPORTER'] ?? '').trim().toLowerCase() === 'none') return false;
  return Boolean(env['OTEL_EXPORTER_OTLP_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
}

/**
 * Starts OpenTelemetry tracing for this process, configured only by the
 * standard `OTEL_*` variables (OTLP over HTTP, `http/protobuf` unless
 * `OTEL_EXPORTER_OTLP_PROTOCOL` says `http/json`; W3C `traceparent`
 * propagation; `OTEL_SERVICE_NAME` over `serviceName`), and off unless
 * {@link tracingRequested}. Traces only: metrics are Prometheus's
 * (`GET /metrics`), logs go to stdout.
 *
 * It must run before the modules it instruments are loaded (http, undici for
 * `fetch`, pg, @redis/client): each service's `src/tracing.ts` calls it and is
 * its `main.ts`'s first import. Redis and database spans are recorded only
 * inside a request's trace, so the revocation tail's blocking reads and the
 * heartbeat do not each make a trace of their own.
 *
 * @param serviceName the resource's `service.name` when `OTEL_SERVICE_NAME` is unset, e.g. `orders-service`
 * @param env the process environment
 * @returns the started SDK, or `undefined` when tracing is off
 */
export function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): NodeSDK | undefined {
  if (!tracingRequested(env)) return undefined;
  const redacted = [...REDACTED_QUERY_PARAMETERS];
  // The variable @opentelemetry/auto-instrumentations-node reads, with the same short names.
  const disabled = new Set((env['OTEL_NODE_DISABLED_INSTRUMENTATIONS'] ?? '').split(',').map((name) => name.trim()));
  const enabled = <T>(name: string, make: () => T): T[] => (disabled.has(name) ? [] : [make()]);
  const sdk = new NodeSDK({
    serviceName: env['OTEL_SERVICE_NAME'] || serviceName,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      ...enabled(
        'http',
        () =>
          new HttpInstrumentation({
            ignoreIncomingRequestHook: (request: IncomingMessage) => UNTRACED_PATHS.test(request.url ?? ''),
            redactedQueryParams: redacted,
            redactedQueryParamsServer: redacted,
          }),
      ),
      ...enabled('undici', () => new UndiciInstrumentation()),
      ...enabled('pg', () => new PgInstrumentation({ requireParentSpan: true })),
      ...enabled('redis', () => new RedisInstrumentation({ requireParentSpan: true })),
    ],
  });
  sdk.start();
  onTracingShutdown(() => sdk.shutdown());
  return sdk;
}
