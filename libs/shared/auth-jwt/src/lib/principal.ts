import type { Role } from '@jwt-ms/contracts';

/** The two kinds of principal an access token names: a user (possibly through an acting client), or a client alone. */
export type PrincipalKind = 'user' | 'service';

/** Both values of {@link PrincipalKind}. */
export const PRINCIPAL_KINDS: readonly PrincipalKind[] = ['user', 'service'];

/**
 * What every principal has, user or service. Built only from a token whose
 * signature, issuer, audience, times, type, claims and revocation status have
 * all been checked. Times are seconds since the epoch.
 */
export interface VerifiedAccessToken {
  /** `sub` (RFC 7519 §4.1.2): a user's id, or a service token's client id. */
  subject: string;
  /** `scope` claim split on spaces (RFC 9068 §2.2.3). */
  scopes: string[];
  /** `client_id` claim (RFC 9068 §2.2): the client the token was issued to. */
  clientId: string;
  /** `jti` claim: the revocation handle. */
  tokenId: string;
  /** `iat`, seconds since the epoch. */
  issuedAt: number;
  /** `exp`, seconds since the epoch. */
  expiresAt: number;
  /** `aud` (RFC 7519 §4.1.3) as an array: every service the token is meant for, this one among them. */
  audience: string[];
}

/**
 * A user's token: from login or refresh, or from a token exchange (RFC 8693)
 * by a client acting for the user, which {@link actor} then names.
 */
export interface UserPrincipal extends VerifiedAccessToken {
  kind: 'user';
  /** `email` claim. */
  email: string;
  /** `roles` claim (RFC 9068 §2.2.3.1); may be empty in an exchanged token. */
  roles: Role[];
  /** `sid` claim: the login session (refresh-token family). */
  sessionId: string;
  /**
   * `auth_time`: when the user authenticated for this session, seconds since
   * the epoch (whole seconds from the current issuer, fractional from earlier ones).
   */
  authenticatedAt: number;
  /** The `act` claim (RFC 8693 §4.1): the client acting for the user; null when the user acts themself. */
  actor: { subject: string } | null;
}

/**
 * A client acting on its own behalf (RFC 6749 §4.4 client credentials):
 * `subject` equals `clientId`. No user, so no roles, session or email.
 */
export interface ServicePrincipal extends VerifiedAccessToken {
  kind: 'service';
}

/** Who is calling: the verified access token, as a resource service sees it; tell the kinds apart by `kind`. */
export type Principal = UserPrincipal | ServicePrincipal;

/** True when the principal is a user's (exchanged tokens included). */
export function isUserPrincipal(principal: Principal): principal is UserPrincipal {
  return principal.kind === 'user';
}

/** True when the principal is a client acting on its own behalf. */
export function isServicePrincipal(principal: Principal): principal is ServicePrincipal {
  return principal.kind === 'service';
}

/** True when the principal is a user holding the `admin` role; false for a service, which has no roles. */
export function isAdmin(principal: Principal): boolean {
  return principal.kind === 'user' && principal.roles.includes('admin');
}
