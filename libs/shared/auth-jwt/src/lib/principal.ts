import type { Role } from '@jwt-ms/contracts';

/**
 * Who is calling: the verified access token, as a resource service sees it.
 * Built only from a token whose signature, issuer, audience, times, type and
 * revocation status have all been checked.
 */
export interface Principal {
  /** `sub`: the user's id. */
  subject: string;
  /** `email` claim. */
  email: string;
  /** `roles` claim (RFC 9068 §2.2.3.1). */
  roles: Role[];
  /** `scope` claim split on spaces (RFC 9068 §2.2.3). */
  scopes: string[];
  /** `client_id` claim (RFC 9068 §2.2). */
  clientId: string;
  /** `jti` claim: the revocation handle. */
  tokenId: string;
  /** `sid` claim: the login session (refresh-token family). */
  sessionId: string;
  /** `iat`, seconds since the epoch. */
  issuedAt: number;
  /** `auth_time`: when the user authenticated for this session, seconds since the epoch (fractional). */
  authenticatedAt: number;
  /** `exp`, seconds since the epoch. */
  expiresAt: number;
}

/** True when the principal holds the `admin` role. */
export function isAdmin(principal: Principal): boolean {
  return principal.roles.includes('admin');
}
