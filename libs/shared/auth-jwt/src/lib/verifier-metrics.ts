import { Injectable, Optional } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { ServiceMetrics } from '@jwt-ms/service-core';
import type { TokenRejectionCode, VerificationDependency } from './token-rejection';

/** The outcome of one request's token check, as counted. */
export type VerificationResult = 'accepted' | 'rejected' | 'missing' | 'unavailable';

/**
 * Delay buckets of revocation propagation, in seconds: a revocation reaches a
 * tailing replica in about a millisecond; the staleness bound (2 s by
 * default) is the worst case for a connected one.
 */
const PROPAGATION_BUCKETS_SECONDS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5];

/**
 * What the verifier counts, on the process's {@link ServiceMetrics} registry
 * (`GET /metrics`). Every family, with its labels:
 * - `jwt_verifications_total{result, reason}`: one per request that reached the
 *   access-token guard. `result` is `accepted`, `rejected` (401 `invalid_token`:
 *   `reason` is the stable {@link TokenRejectionCode}), `missing` (401, no bearer
 *   token) or `unavailable` (503: `reason` is `signing_keys` or `revocation_list`);
 * - `jwt_verified_token_cache_lookups_total{result}`: `hit` or `miss` of the
 *   verified-token cache;
 * - `jwks_fetches_total{outcome}`: `success` or `failure` of a fetch of the
 *   issuer's JWK Set (RFC 7517 §5); `jwks_keys`: keys in the set in use;
 * - `revocation_list_staleness_seconds`: age of the newest proof that the
 *   copy of the revocation list is complete (-1 before the first full read);
 *   `revocation_list_entries`: entries held;
 * - `revocation_propagation_delay_seconds`: for each revocation that arrives
 *   by the log's tail, from its entry's stream ID (the millisecond Redis
 *   appended the issuer's write) to the moment this replica applied it. Both
 *   ends on wall clocks (Redis's and this host's): skew between them shows in it.
 *
 * Labelled children are made once, up front: counting costs an increment.
 * Without a {@link ServiceMetrics} in the app (tests of the module alone) the
 * metrics go to a registry of their own that nothing serves.
 */
@Injectable()
export class VerifierMetrics {
  private readonly verifications: Counter<'result' | 'reason'>;
  private readonly byReason = new Map<string, { inc(): void }>();
  private readonly accepted: { inc(): void };
  private readonly missingToken: { inc(): void };
  private readonly cacheHit: { inc(): void };
  private readonly cacheMiss: { inc(): void };
  private readonly fetchSuccess: { inc(): void };
  private readonly fetchFailure: { inc(): void };
  private readonly propagation: Histogram;
  private keyCount: () => number = () => 0;
  private revocationState: () => { stalenessMs: number | null; entries: number } = () => ({
    stalenessMs: null,
    entries: 0,
  });

  constructor(@Optional() metrics: ServiceMetrics = new ServiceMetrics(false)) {
    this.verifications = metrics.reuse(
      'jwt_verifications_total',
      (registers) =>
        new Counter({
          name: 'jwt_verifications_total',
          help: 'Access tokens checked by the guard, by result and stable rejection reason.',
          labelNames: ['result', 'reason'] as const,
          registers,
        }),
    );
    this.accepted = this.verifications.labels('accepted', '');
    this.missingToken = this.verifications.labels('missing', '');
    const lookups = metrics.reuse(
      'jwt_verified_token_cache_lookups_total',
      (registers) =>
        new Counter({
          name: 'jwt_verified_token_cache_lookups_total',
          help: 'Lookups of the verified-token cache, by result (hit, miss).',
          labelNames: ['result'] as const,
          registers,
        }),
    );
    this.cacheHit = lookups.labels('hit');
    this.cacheMiss = lookups.labels('miss');
    const fetches = metrics.reuse(
      'jwks_fetches_total',
      (registers) =>
        new Counter({
          name: 'jwks_fetches_total',
          help: "Fetches of the issuer's JWK Set, by outcome (success, failure).",
          labelNames: ['outcome'] as const,
          registers,
        }),
    );
    this.fetchSuccess = fetches.labels('success');
    this.fetchFailure = fetches.labels('failure');
    // Gauges read their value when scraped: nothing is kept up to date on the request path.
    const keys = () => this.keyCount();
    const revocations = () => this.revocationState();
    metrics.reuse(
      'jwks_keys',
      (registers) =>
        new Gauge({
          name: 'jwks_keys',
          help: "Keys in the issuer's JWK Set in use.",
          registers,
          collect() {
            this.set(keys());
          },
        }),
    );
    metrics.reuse(
      'revocation_list_staleness_seconds',
      (registers) =>
        new Gauge({
          name: 'revocation_list_staleness_seconds',
          help: 'Age of the newest proof that the copy of the revocation list is complete; -1 before the first full read.',
          registers,
          collect() {
            const { stalenessMs } = revocations();
            this.set(stalenessMs === null ? -1 : stalenessMs / 1000);
          },
        }),
    );
    metrics.reuse(
      'revocation_list_entries',
      (registers) =>
        new Gauge({
          name: 'revocation_list_entries',
          help: 'Entries (tokens, sessions, subject watermarks) in the copy of the revocation list.',
          registers,
          collect() {
            this.set(revocations().entries);
          },
        }),
    );
    this.propagation = metrics.reuse(
      'revocation_propagation_delay_seconds',
      (registers) =>
        new Histogram({
          name: 'revocation_propagation_delay_seconds',
          help: "From a revocation's append to Redis's log to its application by this replica.",
          buckets: PROPAGATION_BUCKETS_SECONDS,
          registers,
        }),
    );
  }

  /** One request's token accepted. */
  countAccepted(): void {
    this.accepted.inc();
  }

  /** One request without a bearer token. */
  countMissing(): void {
    this.missingToken.inc();
  }

  /** One request's token refused (401), by its stable code. */
  countRejected(code: TokenRejectionCode): void {
    this.child('rejected', code).inc();
  }

  /** One request's token not judged (503), by the dependency that failed. */
  countUnavailable(dependency: VerificationDependency): void {
    this.child('unavailable', dependency).inc();
  }

  /** A lookup of the verified-token cache. */
  countCacheLookup(hit: boolean): void {
    (hit ? this.cacheHit : this.cacheMiss).inc();
  }

  /** A fetch of the issuer's JWK Set ended. */
  countJwksFetch(success: boolean): void {
    (success ? this.fetchSuccess : this.fetchFailure).inc();
  }

  /**
   * One revocation applied from the log's tail.
   *
   * @param delayMs from its append to Redis's log to now, in milliseconds (negative values, from clock skew, count as 0)
   */
  observePropagation(delayMs: number): void {
    this.propagation.observe(Math.max(0, delayMs) / 1000);
  }

  /** Where `jwks_keys` is read from when scraped. */
  readKeysFrom(count: () => number): void {
    this.keyCount = count;
  }

  /** Where the revocation gauges are read from when scraped (staleness in milliseconds, null before loading). */
  readRevocationsFrom(state: () => { stalenessMs: number | null; entries: number }): void {
    this.revocationState = state;
  }

  private child(result: VerificationResult, reason: string): { inc(): void } {
    const key = `${result}:${reason}`;
    let child = this.byReason.get(key);
    if (child === undefined) {
      child = this.verifications.labels(result, reason);
      this.byReason.set(key, child);
    }
    return child;
  }
}
