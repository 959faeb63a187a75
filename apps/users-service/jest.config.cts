module.exports = {
  displayName: 'users-service',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/users-service',
};
