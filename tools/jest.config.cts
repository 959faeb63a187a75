/** Checks of the deployment files (k8s/, docker/, scripts/*.sh), offline: no cluster, no registry. */
module.exports = {
  displayName: 'tools',
  preset: '../jest.preset.js',
  testMatch: ['<rootDir>/deploy/**/*.spec.ts'],
  testTimeout: 60_000,
  coverageDirectory: '../coverage/tools',
};
