import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Principal } from '../principal';

/**
 * Injects the verified {@link Principal} of the request into a handler
 * parameter: `me(@CurrentUser() user: Principal)`. Only meaningful on routes
 * the global guard protects (not `@Public()`).
 */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => context.switchToHttp().getRequest().user,
);
