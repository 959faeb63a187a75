module.exports = require('../../tools/webpack/service.config')('users-service');
