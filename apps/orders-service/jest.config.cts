module.exports = {
  displayName: 'orders-service',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/orders-service',
};
