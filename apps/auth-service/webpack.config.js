module.exports = require('../../tools/webpack/service.config')('auth-service');
