/**
 * Where the system under test is: `__ENV` with localhost defaults, so
 * `k6 run load/scenarios/read-orders.ts` works against `npm start` as is, and
 * `k6 run -e AUTH_URL=http://… …` against anything else (an ingress, a cluster).
 */
export const AUTH_URL = __ENV['AUTH_URL'] || 'http://localhost:3000';
export const USERS_URL = __ENV['USERS_URL'] || 'http://localhost:3001';
export const ORDERS_URL = __ENV['ORDERS_URL'] || 'http://localhost:3002';
/** Named load profile (see profiles.ts): smoke, average or stress. */
export const PROFILE = __ENV['PROFILE'] || 'smoke';
export const PASSWORD = 'load-test passphrase';
