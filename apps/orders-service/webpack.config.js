module.exports = require('../../tools/webpack/service.config')('orders-service');
