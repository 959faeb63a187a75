import { SetMetadata } from '@nestjs/common';
import type { Role } from '@jwt-ms/contracts';

export const REQUIRED_SCOPES_KEY = 'jwtms:requiredScopes';
export const REQUIRED_ROLES_KEY = 'jwtms:requiredRoles';

/**
 * The token must carry every one of these scopes (RFC 9068 §2.2.3 `scope`),
 * or the request is answered 403 `insufficient_scope` (RFC 6750 §3.1).
 */
export const RequireScopes = (...scopes: string[]) => SetMetadata(REQUIRED_SCOPES_KEY, scopes);

/**
 * The token's `roles` claim (RFC 9068 §2.2.3.1) must hold at least one of
 * these roles, or the request is answered 403 `insufficient_scope`.
 */
export const RequireRoles = (...roles: Role[]) => SetMetadata(REQUIRED_ROLES_KEY, roles);
