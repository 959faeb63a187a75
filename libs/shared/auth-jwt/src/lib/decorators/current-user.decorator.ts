import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Principal, UserPrincipal } from '../principal';

/**
 * Injects the verified {@link UserPrincipal} of the request into a handler
 * parameter: `me(@CurrentUser() user: UserPrincipal)`. Only meaningful on
 * routes the global guard protects (not `@Public()`) and that accept users
 * only, as routes do by default.
 *
 * @throws Error when the request's principal is a service: the route accepts
 *   service tokens (`@AcceptPrincipals`) yet reads a user; a wiring bug, answered 500
 */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): UserPrincipal => {
  const principal: Principal = context.switchToHttp().getRequest().user;
  if (principal?.kind === 'service') {
    throw new Error(
      '@CurrentUser() got a service principal: a route that reads the user must not accept services ' +
        '(drop "service" from @AcceptPrincipals, or take @CurrentPrincipal())',
    );
  }
  return principal;
});

/**
 * Injects the verified {@link Principal} of the request, user or service, into
 * a handler parameter: `list(@CurrentPrincipal() caller: Principal)`; narrow
 * it with `isUserPrincipal` / `isServicePrincipal` (or `kind`). For routes that
 * accept services (`@AcceptPrincipals('user', 'service')` or `('service')`).
 */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => context.switchToHttp().getRequest().user,
);
