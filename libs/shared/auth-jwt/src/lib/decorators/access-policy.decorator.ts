import { SetMetadata } from '@nestjs/common';
import type { Role } from '@jwt-ms/contracts';
import type { PrincipalKind } from '../principal';

export const REQUIRED_SCOPES_KEY = 'jwtms:requiredScopes';
export const REQUIRED_ROLES_KEY = 'jwtms:requiredRoles';
export const ACCEPTED_PRINCIPALS_KEY = 'jwtms:acceptedPrincipals';

/**
 * The token must carry every one of these scopes (RFC 9068 §2.2.3 `scope`),
 * or the request is answered 403 `insufficient_scope` (RFC 6750 §3.1). Works
 * for user and service tokens alike.
 */
export const RequireScopes = (...scopes: string[]) => SetMetadata(REQUIRED_SCOPES_KEY, scopes);

/**
 * The token's `roles` claim (RFC 9068 §2.2.3.1) must hold at least one of
 * these roles, or the request is answered 403 `insufficient_scope` with the
 * roles in `required_roles`. A service token has no roles, so it never passes:
 * where a client must be let in too, require a scope instead.
 */
export const RequireRoles = (...roles: Role[]) => SetMetadata(REQUIRED_ROLES_KEY, roles);

/**
 * Which kinds of principal a route (on a handler) or every route of a
 * controller (on the class; a handler's own overrides it) accepts. Without it
 * a route accepts users only (login, refresh and exchanged tokens): a service
 * token (RFC 6749 §4.4 client credentials) is answered 403 `insufficient_scope`
 * (RFC 6750 §3.1), and so is a user's token at a route that accepts services
 * only. `@AcceptPrincipals('user', 'service')` lets both in; a handler that
 * then reads the caller takes `@CurrentPrincipal()`, not `@CurrentUser()`.
 *
 * @param kinds one or both of `'user'`, `'service'`
 */
export const AcceptPrincipals = (...kinds: [PrincipalKind, ...PrincipalKind[]]) =>
  SetMetadata(ACCEPTED_PRINCIPALS_KEY, kinds);
