/**
 * End-to-end suite: boots the three built services (dist/apps/*) as real
 * processes on ephemeral ports, against the real Redis and PostgreSQL.
 */
module.exports = {
  displayName: 'system-e2e',
  preset: '../../jest.preset.js',
  testMatch: ['<rootDir>/src/**/*.e2e-spec.ts'],
  testTimeout: 60_000,
  maxWorkers: 1,
  coverageDirectory: '../../coverage/apps/system-e2e',
};
