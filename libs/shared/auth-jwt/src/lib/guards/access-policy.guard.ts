import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Role } from '@jwt-ms/contracts';
import { AUTH_JWT_SETTINGS, type ResolvedAuthJwtOptions } from '../auth-jwt.options';
import { REQUIRED_ROLES_KEY, REQUIRED_SCOPES_KEY } from '../decorators/access-policy.decorator';
import type { Principal } from '../principal';
import { insufficientScope } from '../token-rejection';

/**
 * Authorization after authentication: enforces `@RequireScopes()` (all of
 * them) and `@RequireRoles()` (any of them) against the verified principal.
 * Failure → 403 `insufficient_scope` (RFC 6750 §3.1).
 */
@Injectable()
export class AccessPolicyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(AUTH_JWT_SETTINGS) private readonly options: ResolvedAuthJwtOptions,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    const scopes = this.reflector.getAllAndOverride<string[] | undefined>(REQUIRED_SCOPES_KEY, targets) ?? [];
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES_KEY, targets) ?? [];
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
