/**
 * End-to-end suite: boots the three built services (dist/apps/*) as real
 * processes on ephemeral ports, against the real Redis and PostgreSQL.
 *
 * oauth4webapi and openid-client (the standard clients of standard-clients.e2e-spec.ts and
 * authorization-code.e2e-spec.ts) are
 * ESM-only like jose: they are transformed (ts-jest with allowJs in
 * tsconfig.spec.json) instead of being ignored like the rest of node_modules.
 */
module.exports = {
  displayName: 'system-e2e',
  preset: '../../jest.preset.js',
  testMatch: ['<rootDir>/src/**/*.e2e-spec.ts'],
  transformIgnorePatterns: ['node_modules/(?!(jose|oauth4webapi|openid-client)/)'],
  testTimeout: 60_000,
  maxWorkers: 1,
  coverageDirectory: '../../coverage/apps/system-e2e',
};
