import { Injectable, type Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Role } from '@jwt-ms/contracts';
import { IS_PUBLIC_KEY, OpenApiAccessPolicy, type OperationAccess } from '@jwt-ms/service-core';
import { ACCEPTED_PRINCIPALS_KEY, REQUIRED_ROLES_KEY, REQUIRED_SCOPES_KEY } from './decorators/access-policy.decorator';
import type { PrincipalKind } from './principal';
import { VERIFIES_OWN_TOKEN_KEY } from './revocation-status.controller';

/**
 * A route's access policy for its API document, read from the same metadata, with the same precedence
 * (handler over controller), as {@link AccessTokenGuard} and {@link AccessPolicyGuard} read it: `@Public()`,
 * `@RequireScopes()` (every one), `@RequireRoles()` (any one), `@AcceptPrincipals()` (default: users only).
 * The document therefore states what the guards enforce. A `@Public()` route that verifies the bearer token
 * itself (`revocationStatusController`: every check but revocation) is described as needing a token of either kind.
 */
@Injectable()
export class TokenAccessPolicy extends OpenApiAccessPolicy {
  private readonly reflector = new Reflector();

  /** @returns public, or the scopes, with roles and principal kinds as conditions and `x-` members */
  describe(handler: object, controller: Type): OperationAccess {
    const targets = [handler as () => void, controller];
    if (this.reflector.getAllAndOverride<boolean | undefined>(VERIFIES_OWN_TOKEN_KEY, targets)) {
      return {
        public: false,
        scopes: [],
        conditions: [
          'A user token or a service token (client credentials) is accepted, a revoked one too: every other check applies.',
        ],
        extensions: { 'x-accepted-principals': ['user', 'service'] },
      };
    }
    if (this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, targets)) {
      return { public: true, scopes: [], conditions: [], extensions: {} };
    }
    const scopes = this.reflector.getAllAndOverride<string[] | undefined>(REQUIRED_SCOPES_KEY, targets) ?? [];
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES_KEY, targets) ?? [];
    const accepts = this.reflector.getAllAndOverride<PrincipalKind[] | undefined>(ACCEPTED_PRINCIPALS_KEY, targets) ?? [
      'user',
    ];
    const conditions = [
      accepts.length === 2
        ? 'A user token or a service token (client credentials) is accepted.'
        : accepts[0] === 'service'
          ? 'Only a service token (client credentials) is accepted.'
          : "Only a user's token (login, refresh, token exchange) is accepted.",
    ];
    if (roles.length > 0) conditions.push(`The user must have the role ${roles.map((r) => `\`${r}\``).join(' or ')}.`);
    return {
      public: false,
      scopes,
      conditions,
      extensions: {
        'x-accepted-principals': [...accepts],
        ...(roles.length > 0 && { 'x-required-roles': [...roles] }),
      },
    };
  }
}
