/**
 * What the services agree on across processes: the access token's shape
 * (RFC 9068), roles and scopes, the problem+json body (RFC 9457), and the
 * Redis layout of the revocation list. Types and constants only.
 */
export {
  ACCESS_TOKEN_TYPE,
  REQUIRED_ACCESS_TOKEN_CLAIMS,
  REQUIRED_SERVICE_TOKEN_CLAIMS,
  REQUIRED_USER_TOKEN_CLAIMS,
  ROLE_ADMIN,
  ROLE_USER,
  SCOPES_BY_ROLE,
  SIGNING_ALGORITHMS,
  USER_ONLY_CLAIMS,
  type AccessTokenClaims,
  type ActorClaim,
  type CommonAccessTokenClaims,
  type ServiceTokenClaims,
  type Role,
  type SigningAlgorithm,
  type TokenResponse,
} from './lib/access-token';
export {
  ERROR_CODES,
  PROBLEM_CONTENT_TYPE,
  type ErrorCode,
  type FieldError,
  type ProblemDetails,
} from './lib/problem-details';
export {
  MAX_REVOCATION_ID_LENGTH,
  REDIS_KEY_PREFIX,
  REVOCATION_ENTRIES_KEY,
  REVOCATION_EXPIRY_KEY,
  REVOCATION_GENERATION_KEY,
  REVOCATION_HASH_TAG,
  REVOCATION_LOG_KEY,
  REVOCATION_LOG_RETENTION_MS,
  authTimeClaimKey,
  formatRevocationGeneration,
  formatRevocationValue,
  formatWatermark,
  parseRevocationEntry,
  parseRevocationField,
  parseRevocationGeneration,
  parseWatermark,
  revocationField,
  type RevocationEntry,
  type RevocationEntryKind,
  type RevocationGeneration,
} from './lib/revocation-keys';
