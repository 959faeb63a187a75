/** @fastify/static's content-disposition is ESM-only, like jose: transformed (allowJs in tsconfig.spec.json). */
module.exports = {
  displayName: 'console',
  preset: '../../jest.preset.js',
  transformIgnorePatterns: ['node_modules/(?!(jose|oauth4webapi|content-disposition)/)'],
  coverageDirectory: '../../coverage/apps/console',
};
