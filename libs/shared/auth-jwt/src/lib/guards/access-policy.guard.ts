import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Role } from '@jwt-ms/contracts';
import { AUTH_JWT_SETTINGS, type ResolvedAuthJwtOptions } from '../auth-jwt.options';
import { REQUIRED_ROLES_KEY, REQUIRED_SCOPES_KEY } from '../decorators/access-policy.decorator';
import type { Principal } from '../principal';
import { insufficientScope } from '../token-rejection';
import { RouteMetadata } from './route-metadata';

/** What a route requires: all of `scopes`, and one of `roles` when any is listed. */
interface RoutePolicy {
  scopes: string[];
  roles: Role[];
}

/**
 * Authorization after authentication: enforces `@RequireScopes()` (all of
 * them) and `@RequireRoles()` (any of them) against the verified principal.
 * Failure → 403 `insufficient_scope` (RFC 6750 §3.1).
 */
@Injectable()
export class AccessPolicyGuard implements CanActivate {
  /** Each route's `@RequireScopes()` and `@RequireRoles()`, read once per route. */
  private readonly policies: RouteMetadata<RoutePolicy>;

  constructor(
    reflector: Reflector,
    @Inject(AUTH_JWT_SETTINGS) private readonly options: ResolvedAuthJwtOptions,
  ) {
    this.policies = new RouteMetadata(reflector, (metadata, targets) => ({
      scopes: metadata.getAllAndOverride<string[] | undefined>(REQUIRED_SCOPES_KEY, targets) ?? [],
      roles: metadata.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES_KEY, targets) ?? [],
    }));
  }

  canActivate(context: ExecutionContext): boolean {
    const { scopes, roles } = this.policies.of(context);
    if (scopes.length === 0 && roles.length === 0) return true;
    const principal: Principal | undefined = context.switchToHttp().getRequest().user;
    if (!principal) return true; // a @Public() route: nothing to authorize against
    if (!scopes.every((scope) => principal.scopes.includes(scope)))
      throw insufficientScope(this.options.audience, scopes);
    if (roles.length > 0 && !roles.some((role) => principal.roles.includes(role))) {
      throw insufficientScope(
        this.options.audience,
        roles.map((role) => `role:${role}`),
      );
    }
    return true;
  }
}
