import { trace } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';

let flushTraces: (() => Promise<void>) | undefined;

/**
 * Registers what closing the app must do for tracing (export the spans still
 * batched); set by {@link startTracing} when the SDK runs, left unset otherwise.
 */
export function onTracingShutdown(flush: () => Promise<void>): void {
  flushTraces = flush;
}

/**
 * Names each request's server span after its route template (`POST /orders`,
 * OpenTelemetry's HTTP semantic conventions: `http.route`, never the raw path
 * with its ids), and exports the last spans when the app closes.
 *
 * Costs one `getActiveSpan()` per request when tracing is off: the API's no-op
 * tracer answers with no span.
 *
 * @param fastify the service's Fastify instance, before it listens
 */
export function traceRequests(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    const span = trace.getActiveSpan();
    const route = request.routeOptions.url;
    if (span && route) {
      span.setAttribute('http.route', route);
      span.updateName(`${request.method} ${route}`);
    }
    done();
  });
  fastify.addHook('onClose', async () => {
    await flushTraces?.();
  });
}
