export * from './cluster';
export * from './haproxy';
export * from './service-processes';
