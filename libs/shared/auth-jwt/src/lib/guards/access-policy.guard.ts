import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Role } from '@jwt-ms/contracts';
import { AUTH_JWT_SETTINGS, type ResolvedAuthJwtOptions } from '../auth-jwt.options';
import {
  ACCEPTED_PRINCIPALS_KEY,
  REQUIRED_ROLES_KEY,
  REQUIRED_SCOPES_KEY,
} from '../decorators/access-policy.decorator';
import type { Principal, PrincipalKind } from '../principal';
import { insufficientRole, insufficientScope, principalNotAccepted } from '../token-rejection';
import { RouteMetadata } from './route-metadata';

/** What a route requires: a principal of an accepted kind, all of `scopes`, and one of `roles` when any is listed. */
interface RoutePolicy {
  /** `@AcceptPrincipals()`, default `['user']`. */
  accepts: readonly PrincipalKind[];
  acceptsUsers: boolean;
  acceptsServices: boolean;
  scopes: string[];
  roles: Role[];
}

/** The kinds a route accepts without `@AcceptPrincipals()`: users only. */
const USERS_ONLY: readonly PrincipalKind[] = Object.freeze(['user'] as PrincipalKind[]);

/**
 * Authorization after authentication, against the verified principal:
 * `@AcceptPrincipals()` (default: users only), then `@RequireScopes()` (all of
 * them; users and services alike), then `@RequireRoles()` (any of them; a
 * service, having no roles, never passes). Each failure is a 403
 * `insufficient_scope` problem (RFC 6750 §3.1): a principal of another kind
 * (`accepted_principals`), a missing scope (named in the challenge's `scope`),
 * a missing role (`required_roles`, no `scope` in the challenge: a role is not
 * a scope). A route's policy is read once, then remembered ({@link RouteMetadata}).
 */
@Injectable()
export class AccessPolicyGuard implements CanActivate {
  /** Each route's `@AcceptPrincipals()`, `@RequireScopes()` and `@RequireRoles()`, read once per route. */
  private readonly policies: RouteMetadata<RoutePolicy>;

  constructor(
    reflector: Reflector,
    @Inject(AUTH_JWT_SETTINGS) private readonly options: ResolvedAuthJwtOptions,
  ) {
    this.policies = new RouteMetadata(reflector, (metadata, targets) => {
      const accepts =
        metadata.getAllAndOverride<PrincipalKind[] | undefined>(ACCEPTED_PRINCIPALS_KEY, targets) ?? USERS_ONLY;
      return {
        accepts,
        acceptsUsers: accepts.includes('user'),
        acceptsServices: accepts.includes('service'),
        scopes: metadata.getAllAndOverride<string[] | undefined>(REQUIRED_SCOPES_KEY, targets) ?? [],
        roles: metadata.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES_KEY, targets) ?? [],
      };
    });
  }

  /**
   * @returns true when the route's policy admits the request's principal (or the route is `@Public()`)
   * @throws ProblemException 403 `insufficient_scope` (see the class)
   */
  canActivate(context: ExecutionContext): boolean {
    const principal: Principal | undefined = context.switchToHttp().getRequest().user;
    if (!principal) return true; // a @Public() route: nothing to authorize against
    const policy = this.policies.of(context);
    if (!(principal.kind === 'user' ? policy.acceptsUsers : policy.acceptsServices)) {
      throw principalNotAccepted(this.options.audience, policy.accepts);
    }
    const { scopes, roles } = policy;
    if (scopes.length > 0 && !scopes.every((scope) => principal.scopes.includes(scope))) {
      throw insufficientScope(this.options.audience, scopes);
    }
    if (roles.length > 0 && !(principal.kind === 'user' && roles.some((role) => principal.roles.includes(role)))) {
      throw insufficientRole(this.options.audience, roles);
    }
    return true;
  }
}
