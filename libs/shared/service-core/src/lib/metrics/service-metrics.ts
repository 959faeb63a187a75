import { Global, Injectable, Module, type DynamicModule } from '@nestjs/common';
import { Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Latency buckets of request and verification histograms, in seconds: from
 * half a millisecond (a cached token on a warm replica) to 5 s (an argon2 check
 * queued under load).
 */
export const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The route label of a request no route matched (a 404, or an answer given before routing). */
const UNMATCHED_ROUTE = 'unmatched';

/**
 * One process's Prometheus metrics (prom-client): its own registry, so that
 * several apps in one process (the tests) never share or clash, with Node's
 * process metrics (`process_*`, `nodejs_*`) registered in it. Every part of a
 * service that counts something registers its metrics here, through
 * {@link counter}-like helpers of prom-client with `registers: [metrics.registry]`.
 *
 * Conventions (https://prometheus.io/docs/practices/naming/): base units in
 * the name (`_seconds`, `_bytes`), `_total` for counters, and only
 * low-cardinality labels: a route template, never a raw path; a reason code,
 * never a user id or a token id.
 */
@Injectable()
export class ServiceMetrics {
  /** Where every metric of this process is registered; `GET /metrics` renders it. */
  readonly registry = new Registry();

  constructor(readonly enabled = true) {
    if (enabled) collectDefaultMetrics({ register: this.registry });
  }

  /**
   * A metric already registered under `name`, else the one `create` makes:
   * modules built twice in one app (a dynamic module imported twice) share
   * their metrics instead of failing on a duplicate name.
   */
  reuse<T extends Metric>(name: string, create: (registers: Registry[]) => T): T {
    return (this.registry.getSingleMetric(name) as T | undefined) ?? create([this.registry]);
  }
}

/** Options of {@link MetricsModule.forRoot}. */
export interface MetricsModuleOptions {
  /**
   * Whether `GET /metrics` is served and requests are measured (`METRICS_ENABLED`); default true.
   * Off, the metrics are still counted in memory (the counters cost nanoseconds) but not served.
   */
  enabled?: boolean;
}

/**
 * Provides the process's {@link ServiceMetrics} to every module (global).
 * `createServiceApp` finds it in the app and serves `GET /metrics` and the
 * HTTP request histogram ({@link instrumentHttp}).
 */
@Global()
@Module({})
export class MetricsModule {
  static forRoot(options: MetricsModuleOptions = {}): DynamicModule {
    return {
      module: MetricsModule,
      providers: [{ provide: ServiceMetrics, useValue: new ServiceMetrics(options.enabled ?? true) }],
      exports: [ServiceMetrics],
    };
  }
}

/**
 * Measures every answer and serves the registry:
 * - `http_server_request_duration_seconds{method, route, status_code}`, a
 *   histogram from the request's arrival to the answer's last byte (Fastify's
 *   `reply.elapsedTime`, measured in milliseconds); its `_count` is the request
 *   count. `route` is the route template (`/orders/:id`), `unmatched` when no
 *   route matched, so a scan of made-up paths adds no series;
 * - `GET /metrics`: the Prometheus text format (0.0.4), public, on the pod
 *   port only: neither the ingress nor the compose gateway routes it.
 *
 * The labelled child of each (method, route, status) is looked up once and
 * kept: an answer costs one map lookup and one observation.
 *
 * @param fastify the app's Fastify instance, before its routes are registered (`app.init`)
 */
export function instrumentHttp(fastify: FastifyInstance, metrics: ServiceMetrics): void {
  if (!metrics.enabled) return;
  const duration = metrics.reuse(
    'http_server_request_duration_seconds',
    (registers) =>
      new Histogram({
        name: 'http_server_request_duration_seconds',
        help: 'Time from a request to its answer, by route template, method and status code.',
        labelNames: ['method', 'route', 'status_code'] as const,
        buckets: LATENCY_BUCKETS_SECONDS,
        registers,
      }),
  );
  const children = new Map<string, { observe(seconds: number): void }>();
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    const key = `${request.method} ${reply.statusCode} ${route}`;
    let child = children.get(key);
    if (child === undefined) {
      child = duration.labels(request.method, route, String(reply.statusCode));
      children.set(key, child);
    }
    child.observe(reply.elapsedTime / 1000);
    done();
  });
  fastify.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    void reply.header('content-type', metrics.registry.contentType).send(text);
  });
}
