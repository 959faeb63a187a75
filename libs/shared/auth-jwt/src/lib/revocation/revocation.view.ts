import { Inject, Injectable, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { REDIS_CLIENT, type ReadinessProbe, type RedisClient } from '@jwt-ms/service-core';
import type { RevocationEntry } from '@jwt-ms/contracts';
import { AUTH_JWT_SETTINGS, type ResolvedAuthJwtOptions } from '../auth-jwt.options';
import { AppliedRevocations, type AppliedRevocation } from './applied-revocations';
import type { RevocableToken, RevocationReason } from './revocation';
import { RevocationFreshness } from './revocation-freshness';
import { RevocationList } from './revocation-list';
import { RevocationSync } from './revocation-sync';
import { VerifierMetrics } from '../verifier-metrics';

/** Longest wait at start-up for the first full read of the list, in milliseconds (then start stale). */
const STARTUP_SYNC_WAIT_MS = 10_000;
/**
 * Longest wait at start-up while a full read is under way, in milliseconds: a million entries read in about 3 s on
 * a 2-core machine, so this leaves room for a loaded one; an unreachable Redis still costs only the shorter wait.
 */
const STARTUP_READING_WAIT_MS = 30_000;
/** Share of the memory bound below which a list that refused entries tries a full read again. */
const REFILL_BELOW = 0.9;
/** Interval of the expired-entry sweep, in milliseconds. */
const PRUNE_INTERVAL_MS = 1000;

/** Which entry of the list revokes a token: its `jti`, its session `sid`, or its subject's watermark. */
export type RevokedBy = 'token' | 'session' | 'subject';

const REVOKED_BY: Record<NonNullable<RevocationReason>, RevokedBy> = {
  'token revoked': 'token',
  'session revoked': 'session',
  'all tokens of the subject revoked': 'subject',
};

/** What {@link RevocationView.status} tells of one token. */
export type TokenRevocationStatus =
  | { revoked: false }
  | {
      revoked: true;
      /** The kind of entry that revokes it (checked in this order: token, session, subject). */
      by: RevokedBy;
      /** How this replica applied that entry; null when it is no longer in the record (see {@link AppliedRevocations}). */
      applied: AppliedRevocation | null;
    };

/**
 * This process's copy of the revocation list, so that checking a token costs
 * three in-memory lookups instead of a Redis round trip on every request.
 * What the verifier and readiness use; three parts do the work:
 * - {@link RevocationList}: the entries (token `jti`, session `sid`, subject
 *   watermark) as fixed-size digests, each kept until it expires, so the copy
 *   holds at most the revocations of the last access-token lifetime, in about
 *   40 bytes an entry, and never more than `revocationMaxEntries`;
 * - {@link RevocationSync}: reads every entry once at start, then tails the
 *   issuer's log of writes with blocking reads of at most
 *   `revocationHeartbeatMs`, each of which proves every revocation made before
 *   it is in the copy; after a reconnection it catches up from the last entry
 *   it saw, and reads in full again only when the log no longer holds that
 *   point; it also re-reads the generation marker;
 * - {@link RevocationFreshness}: when the copy is older than
 *   `revocationMaxStalenessMs` (Redis down or partitioned, its log not
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
 * Entries are checked before they count (field layout, id length, a
 * lifetime of at most 24 h, a watermark not in the future): anyone who may
 * write the list's keys can add a revocation, but not pin memory past the
 * bound or lock a user out forever. Nothing can remove an entry early. When
 * the bound is reached the list stops growing: an error is logged, and under
 * `fail-closed` every token is refused (503, not ready, `full` in the
 * readiness details) until expiries make room and a full read fits again.
 * Until the first full read succeeds the view answers 503 and is not ready,
 * whatever the policy: there is no "last copy" to fail open to.
 */
@Injectable()
export class RevocationView implements ReadinessProbe, OnApplicationBootstrap, OnApplicationShutdown {
  readonly name = 'revocation-list';
  private readonly list: RevocationList;
  private readonly freshness: RevocationFreshness;
  private readonly sync: RevocationSync;
  private readonly applied = new AppliedRevocations();
  private pruneTimer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(AUTH_JWT_SETTINGS) settings: ResolvedAuthJwtOptions,
    @Inject(REDIS_CLIENT) redis: RedisClient,
    @Optional() metrics: VerifierMetrics = new VerifierMetrics(),
  ) {
    this.list = new RevocationList({ maxEntries: settings.revocationMaxEntries });
    this.freshness = new RevocationFreshness(settings.revocationMaxStalenessMs, settings.revocationFailurePolicy);
    this.sync = new RevocationSync(redis, this.list, this.freshness, {
      heartbeatMs: settings.revocationHeartbeatMs,
      maxTokenLifetimeSeconds: settings.maxTokenLifetimeSeconds,
      onPropagated: (delayMs) => metrics.observePropagation(delayMs),
      onApplied: (entry, application) => this.applied.record(entry, application),
    });
    metrics.readRevocationsFrom(() => ({ stalenessMs: this.freshness.stalenessMs(), entries: this.list.size() }));
  }

  /**
   * Starts reading the list; waits at most 10 s (or the staleness bound, if
   * longer) for the first full read, 30 s while one is under way, then starts anyway,
   * stale: the policy and readiness say so, and the view catches up when Redis answers.
   */
  async onApplicationBootstrap(): Promise<void> {
    this.sync.start();
    this.pruneTimer = setInterval(() => this.prune(), PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
    const started = this.freshness.now();
    const deadline = started + Math.max(this.freshness.maxStalenessMs, STARTUP_SYNC_WAIT_MS);
    const readingDeadline = started + Math.max(this.freshness.maxStalenessMs, STARTUP_READING_WAIT_MS);
    const waiting = () =>
      this.freshness.now() < deadline || (this.sync.isReadingInFull() && this.freshness.now() < readingDeadline);
    while (!this.freshness.isFresh() && waiting()) await sleep(20);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
    await this.sync.stop();
  }

  /** Drops expired entries; a list that refused entries reads in full again once there is room. */
  private prune(): void {
    this.list.prune();
    if (this.freshness.isFull() && this.list.size() < this.list.maxEntries * REFILL_BELOW) this.sync.requestFullRead();
  }

  /**
   * Checks a verified token against the in-memory list: its `jti`, its
   * session (`sid`, a user token's only), and its subject's watermark against
   * `authTime` (a user token's `auth_time`, a service token's `iat`).
   * Synchronous: no I/O.
   *
   * @param token the token's `jti`, `sid`, `sub` and `authTime` (see {@link RevocableToken})
   * @returns why the token is revoked, or null
   * @throws RevocationUnavailableError when the list was never loaded; under `fail-closed` also when it is
   *   older than `revocationMaxStalenessMs` or lost (see the class)
   */
  check(token: RevocableToken): RevocationReason {
    this.freshness.assertUsable();
    return this.list.check(token);
  }

  /**
   * {@link check}, and how this replica came to know the entry that revokes the
   * token: when the issuer announced it, when this replica applied it and the
   * delay between, from the bounded record of recent applications
   * ({@link AppliedRevocations}). For `GET /<service>/revocation-status` only:
   * the verifier uses {@link check}. The same freshness rule: a view that could
   * not be trusted to refuse a token throws rather than call it not revoked.
   *
   * @param token the token's `jti`, `sid`, `sub` and `authTime` (see {@link RevocableToken})
   * @returns `{revoked: false}`, or the kind of entry that revokes it and its record (null once pushed out)
   * @throws RevocationUnavailableError as {@link check} does
   */
  status(token: RevocableToken): TokenRevocationStatus {
    const reason = this.check(token);
    if (reason === null) return { revoked: false };
    const by = REVOKED_BY[reason];
    const id = by === 'token' ? token.jti : by === 'session' ? (token.sid as string) : token.sub;
    return { revoked: true, by, applied: this.applied.find(by, id) ?? null };
  }

  /**
   * Adds one entry as written to Redis: the issuer calls it with its own
   * writes, so its process sees them before the log brings them back. Not
   * recorded in {@link status}'s record: it is, with its measured delay, when the log brings it back.
   * Expired entries and watermarks in the future are ignored (see {@link RevocationList.add}).
   *
   * @param entry the entry as stored (expiry in milliseconds since the epoch)
   * @returns whether the entry was taken (false also at the memory bound, which the view then reports)
   */
  apply(entry: RevocationEntry): boolean {
    const outcome = this.list.add(entry);
    if (outcome === 'full') this.freshness.markOverflow(this.list.maxEntries);
    return outcome === 'added' || outcome === 'updated';
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

  /** Bytes the entries' tables take (typed arrays): for metrics and the bench. */
  bytes(): number {
    return this.list.bytes();
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

  /** How many full reads of the list have completed: one at start, then one per lost catch-up point or loss. */
  fullReads(): number {
    return this.sync.fullReads();
  }

  /** Whether every revocation made up to `revocationMaxStalenessMs` ago is known. */
  isFresh(): boolean {
    return this.freshness.isFresh();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
