import './tracing';
import { runService } from '@jwt-ms/service-core';
import { loadOrdersServiceConfig } from './orders-service.config';
import { OrdersServiceModule } from './orders-service.module';

void runService('orders-service', () => {
  const config = loadOrdersServiceConfig();
  return {
    module: OrdersServiceModule.forRoot(config),
    port: config.PORT,
    host: config.HOST,
    app: { corsOrigins: config.CORS_ORIGINS, trustedProxies: config.TRUSTED_PROXIES, logLevel: config.LOG_LEVEL },
  };
});
