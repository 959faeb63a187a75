export * from './lib/access-token';
export * from './lib/problem-details';
export * from './lib/revocation-keys';
