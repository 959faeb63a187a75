import './tracing';
import { runService } from '@jwt-ms/service-core';
import { loadAuthServiceConfig } from './auth-service.config';
import { AuthServiceModule } from './auth-service.module';
import { loadPrivateSigningKeySet } from './keys/signing-key-set';
import { runRotateKeys } from './cli/rotate-keys-command';

// `node main.js keys:rotate ...`: the image's rotation command (the key-rotation CronJob), not the server.
if (process.argv[2] === 'keys:rotate') {
  void runRotateKeys(process.argv.slice(3)).then((code) => {
    process.exitCode = code;
  });
} else
  void runService('auth-service', () => {
    const config = loadAuthServiceConfig();
    const keySet = loadPrivateSigningKeySet(config);
    return {
      module: AuthServiceModule.forRoot(config, keySet),
      port: config.PORT,
      host: config.HOST,
      app: {
        corsOrigins: config.CORS_ORIGINS,
        trustedProxies: config.TRUSTED_PROXIES,
        logLevel: config.LOG_LEVEL,
        formBodyPathPrefixes: ['/oauth/'],
        // RFC 6749 §5.2: the token, revocation and introspection endpoints answer errors as application/json.
        oauthPathPrefixes: ['/oauth/'],
        formRepeatableParameters: ['resource', 'audience'],
      },
    };
  });
