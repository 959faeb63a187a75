import { startTracing } from '@jwt-ms/service-core/tracing';

// Before anything it instruments is loaded: main.ts imports this file first.
startTracing('orders-service');
