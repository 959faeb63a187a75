import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { ProblemException, ServiceMetrics } from '@jwt-ms/service-core';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { nowSeconds, signingKeyAt } from '../keys/key-rotation';
import { SigningKeys } from '../keys/signing-key-set';

/**
 * The issuer's own metrics, on the process's {@link ServiceMetrics} registry (`GET /metrics`):
 * - `auth_logins_total{outcome}`: `/auth/login` answers: `success`, or the
 *   problem's stable code (`invalid_credentials`, `temporarily_unavailable`,
 *   `dependency_unavailable`, …). A login refused by a rate limit before it is
 *   tried counts in `auth_rate_limit_refusals_total`;
 * - `oauth_token_grants_total{grant_type, outcome}`: `/oauth/token` grants
 *   (RFC 6749 §3.2) by grant type, `issued` or the RFC 6749 §5.2 `error`;
 * - `auth_refresh_rotations_total`: refresh tokens rotated (RFC 9700 §4.14.2),
 *   by `/auth/refresh` or the refresh_token grant;
 * - `auth_refresh_reuse_detected_total`: refresh tokens presented again outside
 *   the grace window, each of which revoked its session;
 * - `auth_rate_limit_refusals_total{limiter}`: 429s, by limiter (`ip`,
 *   `account`, `client-ip`, `client`, `token-ip`, `token-client`);
 * - `auth_signing_key_age_seconds`: how long the key that signs now has been
 *   signing (from its `nbf`, or from when this process first saw it);
 * - `auth_signing_key_next_rotation_seconds`: until a published key that does
 *   not sign yet starts signing (a rotation under way), -1 when none waits.
 *
 * Labels take only values from fixed sets (grant types, §5.2 codes, limiter names).
 */
@Injectable()
export class IssuerMetrics {
  private readonly logins: Counter<'outcome'>;
  private readonly grants: Counter<'grant_type' | 'outcome'>;
  private readonly rotations: Counter;
  private readonly reuses: Counter;
  private readonly refusals: Counter<'limiter'>;
  /** When this process first saw each signing key without `nbf`, in seconds since the epoch. */
  private readonly firstSeen = new Map<string, number>();

  constructor(
    metrics: ServiceMetrics,
    private readonly keys: SigningKeys,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
  ) {
    this.logins = metrics.reuse(
      'auth_logins_total',
      (registers) =>
        new Counter({
          name: 'auth_logins_total',
          help: 'Logins at /auth/login, by outcome (success or the stable problem code).',
          labelNames: ['outcome'] as const,
          registers,
        }),
    );
    this.grants = metrics.reuse(
      'oauth_token_grants_total',
      (registers) =>
        new Counter({
          name: 'oauth_token_grants_total',
          help: 'Token endpoint grants, by grant type and outcome (issued or the RFC 6749 §5.2 error).',
          labelNames: ['grant_type', 'outcome'] as const,
          registers,
        }),
    );
    this.rotations = metrics.reuse(
      'auth_refresh_rotations_total',
      (registers) => new Counter({ name: 'auth_refresh_rotations_total', help: 'Refresh tokens rotated.', registers }),
    );
    this.reuses = metrics.reuse(
      'auth_refresh_reuse_detected_total',
      (registers) =>
        new Counter({
          name: 'auth_refresh_reuse_detected_total',
          help: 'Refresh tokens used again outside the grace window; each revoked its session.',
          registers,
        }),
    );
    this.refusals = metrics.reuse(
      'auth_rate_limit_refusals_total',
      (registers) =>
        new Counter({
          name: 'auth_rate_limit_refusals_total',
          help: 'Requests refused by a rate limit (429), by limiter.',
          labelNames: ['limiter'] as const,
          registers,
        }),
    );
    const age = () => this.signingKeyAgeSeconds();
    const next = () => this.nextRotationSeconds();
    metrics.reuse(
      'auth_signing_key_age_seconds',
      (registers) =>
        new Gauge({
          name: 'auth_signing_key_age_seconds',
          help: 'How long the key that signs now has been signing.',
          registers,
          collect() {
            this.set(age());
          },
        }),
    );
    metrics.reuse(
      'auth_signing_key_next_rotation_seconds',
      (registers) =>
        new Gauge({
          name: 'auth_signing_key_next_rotation_seconds',
          help: 'Until a published key that does not sign yet starts signing; -1 when none waits.',
          registers,
          collect() {
            this.set(next());
          },
        }),
    );
  }

  /**
   * Counts one login by how it ended.
   *
   * @param login the login itself
   * @returns what it returns; rethrows what it throws
   */
  async countLogin<T>(login: () => Promise<T>): Promise<T> {
    try {
      const result = await login();
      this.logins.inc({ outcome: 'success' });
      return result;
    } catch (error) {
      this.logins.inc({ outcome: error instanceof ProblemException ? problemCode(error) : 'error' });
      throw error;
    }
  }

  /**
   * Counts one grant by type and outcome.
   *
   * @param grantType a grant type the endpoint supports (a fixed set)
   * @param grant the grant itself
   */
  async countGrant<T>(grantType: string, grant: () => Promise<T>): Promise<T> {
    try {
      const result = await grant();
      this.grants.inc({ grant_type: grantType, outcome: 'issued' });
      return result;
    } catch (error) {
      const outcome = error instanceof ProblemException ? oauthError(error) : 'error';
      this.grants.inc({ grant_type: grantType, outcome });
      throw error;
    }
  }

  countRotation(): void {
    this.rotations.inc();
  }

  countReuse(): void {
    this.reuses.inc();
  }

  /** @param limiter the limiter's Redis key prefix (`jwtms:rate:token-ip`); counted by its last part (`token-ip`) */
  countRefusal(limiter: string): void {
    this.refusals.inc({ limiter: limiter.slice(limiter.lastIndexOf(':') + 1) });
  }

  private signingKeyAgeSeconds(now = nowSeconds()): number {
    const key = signingKeyAt(this.keys.snapshot(), this.config.SIGNING_ALGORITHM, now);
    if (!key) return -1;
    if (key.nbf !== undefined) return now - key.nbf;
    const seen = this.firstSeen.get(key.kid) ?? now;
    this.firstSeen.set(key.kid, seen);
    return now - seen;
  }

  private nextRotationSeconds(now = nowSeconds()): number {
    const pending = this.keys
      .snapshot()
      .keys.filter((key) => key.alg === this.config.SIGNING_ALGORITHM && (key.nbf ?? 0) > now)
      .map((key) => (key.nbf as number) - now);
    return pending.length ? Math.min(...pending) : -1;
  }
}

function problemCode(error: ProblemException): string {
  return error.code;
}

/** The RFC 6749 §5.2 `error` of an OAuth problem, else its stable code. */
function oauthError(error: ProblemException): string {
  return error.extensions['error'] ?? error.code;
}
