/**
 * The reading side of the revocation list: what the rest of the library
 * imports (`./revocation`). The writer lives with the issuer
 * (apps/auth-service/src/revocation/revocation.store.ts); the Redis layout in
 * `@jwt-ms/contracts` (revocation-keys).
 */
export {
  REDIS_TIMEOUT_MS,
  REVOCATION_FAILURE_POLICIES,
  REVOCATION_TTL_MARGIN_SECONDS,
  RevocationUnavailableError,
  failClosed,
  type RevocableToken,
  type RevocationFailurePolicy,
  type RevocationReason,
} from './revocation';
export { RevocationFreshness, type RevocationReadiness } from './revocation-freshness';
export {
  RevocationList,
  type RevocationAddResult,
  type RevocationListClocks,
  type RevocationListOptions,
} from './revocation-list';
export { RevocationSync, type RevocationSyncSettings } from './revocation-sync';
export { RevocationView, type RevokedBy, type TokenRevocationStatus } from './revocation.view';
export {
  APPLIED_REVOCATIONS_CAPACITY,
  AppliedRevocations,
  type AppliedRevocation,
  type AppliedRevocationsOptions,
  type RevocationApplication,
  type RevocationSource,
} from './applied-revocations';
