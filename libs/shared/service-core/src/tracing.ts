/**
 * OpenTelemetry's SDK for a service process, apart from the rest of
 * service-core so that importing it loads nothing it must instrument.
 */
export { REDACTED_QUERY_PARAMETERS, startTracing, tracingRequested } from './lib/tracing/start-tracing';
