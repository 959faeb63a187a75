import type { ExecutionContext } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';

/** What the Reflector reads a route's metadata from: its handler, then its controller class. */
export type RouteTargets = [ReturnType<ExecutionContext['getHandler']>, ReturnType<ExecutionContext['getClass']>];

/**
 * A route's metadata, read once per handler and class, then remembered.
 *
 * Decorators such as `@Public()` or `@RequireScopes()` are fixed when the
 * classes are defined, so what the Reflector finds for a handler never
 * changes; reading it on every request (two `Reflect.getMetadata` walks per
 * key, per guard) is work the global guards pay on every route, public ones
 * included.
 *
 * @typeParam T what {@link read} derives from the handler and its class
 */
export class RouteMetadata<T> {
  private readonly byHandler = new WeakMap<object, WeakMap<object, T>>();

  /**
   * @param read derives the value from the Reflector, the handler and its class (called once per pair)
   */
  constructor(
    private readonly reflector: Reflector,
    private readonly read: (reflector: Reflector, targets: RouteTargets) => T,
  ) {}

  /** @returns the value for the route this context runs */
  of(context: ExecutionContext): T {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byClass = this.byHandler.get(handler);
    if (!byClass) {
      byClass = new WeakMap();
      this.byHandler.set(handler, byClass);
    }
    if (byClass.has(controller)) return byClass.get(controller) as T;
    const value = this.read(this.reflector, [handler, controller]);
    byClass.set(controller, value);
    return value;
  }
}
