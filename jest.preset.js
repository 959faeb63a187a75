const nxPreset = require('@nx/jest/preset').default;

/**
 * Shared Jest settings. jose is ESM-only: it is transformed (ts-jest with
 * allowJs in each tsconfig.spec.json) instead of being ignored like the rest
 * of node_modules. Type checking is the `typecheck` target's job, so ts-jest
 * only transpiles here.
 *
 * Timeouts: Jest's 5 s default applies to hooks as well as tests, and a hook
 * that creates a PostgreSQL database or starts a redis-server can take longer
 * than that on a 2-core machine that is busy with other work. 30 s is the
 * floor for every project; the end-to-end projects raise it.
 */
module.exports = {
  ...nxPreset,
  testEnvironment: 'node',
  testTimeout: 30_000,
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json', diagnostics: false }],
  },
  transformIgnorePatterns: ['node_modules/(?!(jose)/)'],
  moduleFileExtensions: ['ts', 'js', 'json'],
};
