import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { extractBearerToken } from '../access-token.checks';
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

/**
 * Injects the bearer token the guard verified (RFC 6750 §2.1), for a service
 * that exchanges it to call another on the user's behalf (RFC 8693 §2.1
 * `subject_token`): `create(@CurrentUser() user, @PresentedToken() token: string)`.
 * Never log it, never send it on as is: the next service is not its audience.
 *
 * @throws Error on a route without a verified token (`@Public()`): a wiring bug, answered 500
 */
export const PresentedToken = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const request = context.switchToHttp().getRequest<{ headers: IncomingHttpHeaders; user?: Principal }>();
  // The guard ran first and read the same header with the same function: this is the token it verified.
  const token = request.user ? extractBearerToken(request.headers) : null;
  if (token === null) throw new Error('@PresentedToken() needs a route the access-token guard protects');
  return token;
});
