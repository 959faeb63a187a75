/**
 * What the services agree on across processes: the access token's shape
 * (RFC 9068), roles and scopes, the problem+json body (RFC 9457), and the
 * Redis layout of the revocation list. Types and constants only.
 */
export {
  ACCESS_TOKEN_TYPE,
  ROLE_ADMIN,
  ROLE_USER,
  SCOPES_BY_ROLE,
  SIGNING_ALGORITHMS,
  type AccessTokenClaims,
  type Role,
  type SigningAlgorithm,
  type TokenResponse,
} from './lib/access-token';
export { PROBLEM_CONTENT_TYPE, type ErrorCode, type FieldError, type ProblemDetails } from './lib/problem-details';
export {
  MAX_ANNOUNCEMENT_LENGTH,
  MAX_REVOCATION_ID_LENGTH,
  REDIS_KEY_PREFIX,
  REVOCATION_GENERATION_KEY,
  REVOCATION_INDEX_KEY,
  REVOKED_VALUE,
  formatRevocationAnnouncement,
  formatRevocationGeneration,
  formatWatermark,
  parseRevocationAnnouncement,
  parseRevocationGeneration,
  parseRevocationKey,
  parseWatermark,
  revocationChannel,
  revokedJtiKey,
  revokedSessionKey,
  subjectNotBeforeKey,
  type RevocationAnnouncement,
  type RevocationEntryKind,
  type RevocationGeneration,
  type RevocationKey,
} from './lib/revocation-keys';
