export { Public } from '@jwt-ms/service-core';
export * from './lib/auth-jwt.module';
export {
  AUTH_JWT_SETTINGS,
  type AuthJwtModuleOptions,
  type ResolvedAuthJwtOptions,
  type VerificationKeySource,
  resolveOptions,
} from './lib/auth-jwt.options';
export * from './lib/access-token.strategy';
export * from './lib/access-token.checks';
export * from './lib/decorators/access-policy.decorator';
export * from './lib/decorators/current-user.decorator';
export * from './lib/guards/access-policy.guard';
export * from './lib/guards/access-token.guard';
export * from './lib/principal';
export * from './lib/revocation.store';
export * from './lib/revocation.view';
export * from './lib/signing-key.resolver';
export * from './lib/token-rejection';
export * from './lib/verifier-env';
export * from './lib/jws-verifier';
export * from './lib/access-token.verifier';
export * from './lib/whoami.controller';
export * from './lib/verified-token.cache';
