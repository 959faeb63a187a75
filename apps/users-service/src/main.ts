import './tracing';
import { runService } from '@jwt-ms/service-core';
import { loadUsersServiceConfig } from './users-service.config';
import { UsersServiceModule } from './users-service.module';

void runService('users-service', () => {
  const config = loadUsersServiceConfig();
  return {
    module: UsersServiceModule.forRoot(config),
    port: config.PORT,
    host: config.HOST,
    app: { corsOrigins: config.CORS_ORIGINS, trustedProxies: config.TRUSTED_PROXIES, logLevel: config.LOG_LEVEL },
  };
});
