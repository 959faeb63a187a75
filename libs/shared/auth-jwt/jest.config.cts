module.exports = {
  displayName: 'auth-jwt',
  preset: '../../../jest.preset.js',
  coverageDirectory: '../../../coverage/libs/shared/auth-jwt',
};
