/**
 * A dependency that readiness (`GET /health/ready`) reports besides the
 * database and Redis. Providers registered under {@link READINESS_PROBES}
 * (a multi-provider array, visible to the HealthModule) are asked on every
 * readiness request.
 */
export interface ReadinessProbe {
  /** Name of the entry in the readiness answer, e.g. `revocation-list`. */
  readonly name: string;
  /** @returns whether this dependency lets the service serve, and what to show about it */
  probe(): { up: boolean; details: Record<string, unknown> };
}

/** Injection token of the app's extra {@link ReadinessProbe}s (an array). */
export const READINESS_PROBES = Symbol('READINESS_PROBES');
