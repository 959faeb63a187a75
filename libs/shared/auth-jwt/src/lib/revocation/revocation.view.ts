import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { REDIS_CLIENT, type ReadinessProbe, type RedisClient } from '@jwt-ms/service-core';
import type { RevocationAnnouncement } from '@jwt-ms/contracts';
import { AUTH_JWT_SETTINGS, type ResolvedAuthJwtOptions } from '../auth-jwt.options';
import type { RevocableToken, RevocationReason } from './revocation';
import { RevocationFreshness } from './revocation-freshness';
import { RevocationList } from './revocation-list';
import { RevocationSync } from './revocation-sync';

/** Longest wait at start-up for the first full read of the list, in milliseconds (then start stale). */
const STARTUP_SYNC_WAIT_MS = 10_000;
/** Interval of the expired-entry sweep, in milliseconds. */
const PRUNE_INTERVAL_MS = 10_000;

/**
 * This process's copy of the revocation list, so that checking a token costs
 * three in-memory lookups instead of a Redis round trip on every request.
 * What the verifier and readiness use; three parts do the work:
 * - {@link RevocationList}: the entries (token `jti`, session `sid`, subject
 *   watermark), each kept until it expires in Redis (its PTTL), so the copy
 *   holds at most the revocations of the last access-token lifetime;
 * - {@link RevocationSync}: subscribes to the issuer's announcements first,
 *   then reads every entry (at start, after every reconnection, every
 *   `revocationResyncMs`), and every `revocationHeartbeatMs` sends PING on the
 *   subscriber connection, whose PONG proves every revocation made before the
 *   PING is in the copy; it also re-reads the generation marker;
 * - {@link RevocationFreshness}: when the copy is older than
 *   `revocationMaxStalenessMs` (Redis down or partitioned, announcements not
 *   arriving), the `revocationFailurePolicy` applies: `fail-closed` (default)
 *   refuses every token with 503 until it is fresh again; `fail-open` answers
 *   from the last copy. Readiness reports it (`revocation-list` in
 *   `GET /health/ready`). So the worst case for a revocation to take effect on
 *   a partitioned replica is the staleness bound (default 2000 ms); otherwise
 *   it is one pub/sub delivery.
 *
 * How it knows the list in Redis is the one the issuer wrote (and not an
 * empty one after Redis lost its data): the issuer keeps a generation marker
 * beside the list. The view loads only an established generation, and when
 * the marker is gone, not established or replaced, the list is **lost**: an
 * error is logged and counted ({@link losses}) under either policy, and under
 * `fail-closed` every token is refused (503, not ready) until the issuer
 * establishes a new generation, which it does only once every token that
 * could have been revoked before the loss has expired. Under `fail-open` the
 * view answers from its own copy meanwhile. A view that starts while the list
 * is lost never loads: 503 whatever the policy.
 *
 * Announcements are checked before they count (key layout, id length, a
 * positive lifetime of at most 24 h, a watermark not in the future): anyone
 * who may PUBLISH can add a revocation, as anyone who may SET can, but not
 * pin memory or lock a user out forever. Nothing can remove an entry early.
 * Until the first full read succeeds the view answers 503 and is not ready,
 * whatever the policy: there is no "last copy" to fail open to.
 */
@Injectable()
export class RevocationView implements ReadinessProbe, OnApplicationBootstrap, OnApplicationShutdown {
  readonly name = 'revocation-list';
  private readonly list = new RevocationList();
  private readonly freshness: RevocationFreshness;
  private readonly sync: RevocationSync;
  private pruneTimer: NodeJS.Timeout | null = null;

  constructor(@Inject(AUTH_JWT_SETTINGS) settings: ResolvedAuthJwtOptions, @Inject(REDIS_CLIENT) redis: RedisClient) {
    this.freshness = new RevocationFreshness(settings.revocationMaxStalenessMs, settings.revocationFailurePolicy);
    this.sync = new RevocationSync(redis, this.list, this.freshness, {
      heartbeatMs: settings.revocationHeartbeatMs,
      resyncMs: settings.revocationResyncMs,
      maxTokenLifetimeSeconds: settings.maxTokenLifetimeSeconds,
    });
  }

  /**
   * Opens the subscriber connection and loads the list; waits at most
   * 10 s (or the staleness bound, if longer) for that, then starts anyway,
   * stale: the policy and readiness say so, and the view catches up when Redis answers.
   */
  async onApplicationBootstrap(): Promise<void> {
    this.sync.start();
    this.pruneTimer = setInterval(() => this.list.prune(), PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
    const deadline = this.freshness.now() + Math.max(this.freshness.maxStalenessMs, STARTUP_SYNC_WAIT_MS);
    while (!this.freshness.isFresh() && this.freshness.now() < deadline) await sleep(20);
  }

  onApplicationShutdown(): void {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
    this.sync.stop();
  }

  /**
   * Checks a verified token against the in-memory list: its `jti`, its
   * session (`sid`), and its subject's watermark against `auth_time`.
   * Synchronous: no I/O.
   *
   * @param token the token's `jti`, `sid`, `sub` and `auth_time`
   * @returns why the token is revoked, or null
   * @throws RevocationUnavailableError when the list was never loaded; under `fail-closed` also when it is
   *   older than `revocationMaxStalenessMs` or lost (see the class)
   */
  check(token: RevocableToken): RevocationReason {
    this.freshness.assertUsable();
    return this.list.check(token);
  }

  /**
   * Adds one entry as written to Redis: the issuer calls it with its own
   * writes, so its process sees them before the announcement comes back.
   * Entries outside the layout are ignored (see {@link RevocationList.apply}).
   *
   * @param entry the Redis key, its value, and its remaining lifetime in milliseconds (-1: no expiry)
   * @returns whether the entry was taken
   */
  apply(entry: RevocationAnnouncement): boolean {
    return this.list.apply(entry);
  }

  /**
   * `revocation-list` in `GET /health/ready`: down when never loaded, and under
   * `fail-closed` when stale or lost. The route is public, so the details say
   * nothing about the list's contents (not even its size: see {@link size}).
   */
  probe(): { up: boolean; details: Record<string, unknown> } {
    return this.freshness.probe();
  }

  /** Entries held (tokens, sessions, subject watermarks): for internal views and metrics, not the public probe. */
  size(): number {
    return this.list.size();
  }

  /** How many times this view found the list lost (marker gone, not established, or replaced). */
  losses(): number {
    return this.freshness.losses();
  }

  /**
   * The longest token lifetime the issuer's revocations cover, in seconds, as
   * published with the list's generation; null before the first full read.
   */
  coveredTokenLifetimeSeconds(): number | null {
    return this.sync.coveredTokenLifetimeSeconds();
  }

  /** Whether every revocation made up to `revocationMaxStalenessMs` ago is known. */
  isFresh(): boolean {
    return this.freshness.isFresh();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
