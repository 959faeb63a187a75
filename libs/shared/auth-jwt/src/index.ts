/**
 * The verification library every service uses: `AuthJwtModule` verifies each
 * request's access token (RFC 9068 over RFC 7515/7519) against the issuer's
 * public keys and the revocation list, and hands controllers a `Principal`:
 * a `UserPrincipal` (login, refresh, token exchange) or a `ServicePrincipal`
 * (client credentials); routes accept users only unless `@AcceptPrincipals` says otherwise.
 * It never signs. Test fixtures: `@jwt-ms/auth-jwt/testing`.
 */
export { Public } from '@jwt-ms/service-core';
export { AuthJwtModule } from './lib/auth-jwt.module';
export {
  AUTH_JWT_SETTINGS,
  resolveOptions,
  type AuthJwtModuleOptions,
  type ResolvedAuthJwtOptions,
  type VerificationKeySource,
} from './lib/auth-jwt.options';
export { AccessTokenVerifier } from './lib/access-token.verifier';
export { SigningKeyResolver } from './lib/signing-key.resolver';
export { VerifiedTokenCache } from './lib/verified-token.cache';
export { VerifierMetrics, type VerificationResult } from './lib/verifier-metrics';
export {
  TokenRejectedError,
  VerificationUnavailableError,
  verificationProblem,
  type TokenRejectionCode,
} from './lib/token-rejection';
export { AcceptPrincipals, RequireRoles, RequireScopes } from './lib/decorators/access-policy.decorator';
export { CurrentPrincipal, CurrentUser, PresentedToken } from './lib/decorators/current-user.decorator';
export {
  PRINCIPAL_KINDS,
  isAdmin,
  isServicePrincipal,
  isUserPrincipal,
  type Principal,
  type PrincipalKind,
  type ServicePrincipal,
  type UserPrincipal,
  type VerifiedAccessToken,
} from './lib/principal';
export {
  REDIS_TIMEOUT_MS,
  REVOCATION_FAILURE_POLICIES,
  REVOCATION_TTL_MARGIN_SECONDS,
  RevocationUnavailableError,
  RevocationList,
  RevocationView,
  failClosed,
  type AppliedRevocation,
  type RevocationSource,
  type RevokedBy,
  type TokenRevocationStatus,
  type RevocableToken,
  type RevocationFailurePolicy,
  type RevocationReason,
} from './lib/revocation';
export {
  authJwtOptionsFromEnv,
  revocationEnvShape,
  revocationOptionsFromEnv,
  verifierEnvSchema,
  type VerifierEnv,
} from './lib/verifier-env';
export { WhoamiController } from './lib/whoami.controller';
export {
  VERIFIES_OWN_TOKEN_KEY,
  revocationStatusController,
  type RevocationStatusBody,
} from './lib/revocation-status.controller';
export {
  ACCESS_TOKEN_TYPE,
  EXCHANGED_TOKEN_REUSE_MARGIN_MS,
  TOKEN_EXCHANGE_GRANT_TYPE,
  TokenEndpointUnavailableError,
  TokenExchangeClient,
  TokenExchangeRefusedError,
  type ExchangeRequest,
  type TokenExchangeClientOptions,
} from './lib/token-exchange/token-exchange.client';
export {
  DownstreamAnswerError,
  DownstreamUnavailableError,
  downstreamProblem,
  getOnBehalf,
} from './lib/token-exchange/downstream-call';
export { describeExchangedToken, type ExchangedTokenView } from './lib/token-exchange/exchanged-token-view';
export { TokenAccessPolicy } from './lib/openapi-access.policy';
