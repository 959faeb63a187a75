module.exports = {
  displayName: 'service-core',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/shared/service-core',
};
