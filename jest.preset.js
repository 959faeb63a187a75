const nxPreset = require('@nx/jest/preset').default;

/**
 * Shared Jest settings. jose is ESM-only: it is transformed (ts-jest with
 * allowJs in each tsconfig.spec.json) instead of being ignored like the rest
 * of node_modules. Type checking is the `typecheck` target's job, so ts-jest
 * only transpiles here.
 */
module.exports = {
  ...nxPreset,
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json', diagnostics: false }],
  },
  transformIgnorePatterns: ['node_modules/(?!(jose)/)'],
  moduleFileExtensions: ['ts', 'js', 'json'],
};
