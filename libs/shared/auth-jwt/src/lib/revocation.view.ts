import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { REDIS_CLIENT, withTimeout, type ReadinessProbe, type RedisClient } from '@jwt-ms/service-core';
import {
  REVOCATION_CHANNEL,
  REVOCATION_INDEX_KEY,
  revokedJtiKey,
  revokedSessionKey,
  subjectNotBeforeKey,
  type RevocationAnnouncement,
} from '@jwt-ms/contracts';
import { AUTH_JWT_OPTIONS, resolveOptions, type AuthJwtModuleOptions } from './auth-jwt.options';
import {
  REDIS_TIMEOUT_MS,
  RevocationUnavailableError,
  type RevocableToken,
  type RevocationFailurePolicy,
  type RevocationReason,
} from './revocation';

const JTI_PREFIX = revokedJtiKey('');
const SID_PREFIX = revokedSessionKey('');
const SUBJECT_PREFIX = subjectNotBeforeKey('');

/** Returns, for each key of KEYS, its value and its PTTL (milliseconds; -1 no expiry, -2 gone): one round trip per batch. */
const READ_ENTRIES = `
local reply = {}
for _, key in ipairs(KEYS) do
  reply[#reply + 1] = redis.call('GET', key)
  reply[#reply + 1] = redis.call('PTTL', key)
end
return reply`;

/** Keys per READ_ENTRIES call. */
const RESYNC_BATCH = 500;
/** Longest wait at start-up for the first full read of the list, in milliseconds (then start stale). */
const STARTUP_SYNC_WAIT_MS = 10_000;
/** Interval of the expired-entry sweep, in milliseconds. */
const PRUNE_INTERVAL_MS = 10_000;

interface Watermark {
  /** Tokens of sessions that began before this instant are revoked; seconds since the epoch (fractional). */
  notBefore: number;
  /** When the entry may be forgotten, milliseconds since the epoch. */
  forgetAt: number;
}

/**
 * This process's copy of the revocation list, so that checking a token costs
 * three in-memory lookups instead of a Redis round trip on every request.
 *
 * How it stays complete (and how it knows that it is):
 * - the issuer writes each entry to Redis and announces it on the pub/sub
 *   channel {@link REVOCATION_CHANNEL} in the same Lua script (see
 *   RevocationStore), so an entry is never in Redis unannounced;
 * - this view subscribes first, then reads every entry (the members of the
 *   index {@link REVOCATION_INDEX_KEY} that have not expired, then their
 *   values and PTTLs; no keyspace scan): at start, after every reconnection,
 *   and every `revocationResyncMs`.
 *   An entry written meanwhile arrives by one path or the other; entries are
 *   merged (a watermark only rises), never removed before they expire;
 * - every `revocationHeartbeatMs` it sends PING on the subscriber connection:
 *   Redis answers after delivering every announcement published before the
 *   PING, so a PONG proves the view held every revocation made before the
 *   PING was sent. That instant is the view's freshness.
 *
 * When the view is older than `revocationMaxStalenessMs` (Redis down or
 * partitioned, announcements not arriving), the `revocationFailurePolicy`
 * applies: `fail-closed` (default) refuses every token with 503 until it is
 * fresh again; `fail-open` answers from the last copy. Readiness reports it
 * (`revocation-list` in `GET /health/ready`). So the worst case for a
 * revocation to take effect on a partitioned replica is the staleness bound
 * (default 2000 ms); otherwise it is one pub/sub delivery.
 *
 * Entries expire locally when they do in Redis (their PTTL), so the view
 * holds at most the revocations of the last access-token lifetime.
 */
@Injectable()
export class RevocationView implements ReadinessProbe, OnApplicationBootstrap, OnApplicationShutdown {
  readonly name = 'revocation-list';
  private readonly logger = new Logger('RevocationView');
  private readonly maxStalenessMs: number;
  private readonly heartbeatMs: number;
  private readonly resyncMs: number;
  private readonly policy: RevocationFailurePolicy;

  /** `jti` → when the entry may be forgotten (ms since the epoch). */
  private readonly tokens = new Map<string, number>();
  /** `sid` → when the entry may be forgotten (ms since the epoch). */
  private readonly sessions = new Map<string, number>();
  /** `sub` → watermark. */
  private readonly watermarks = new Map<string, Watermark>();

  private subscriber: RedisClient | null = null;
  private subscribed = false;
  /** Counts subscriber (re)connections and losses: work started on an older one proves nothing. */
  private connection = 0;
  /** The connection on which a full resynchronisation finished. */
  private syncedConnection = -1;
  /** Every revocation completed before this instant (ms since the epoch) is in the view. */
  private freshAsOf = 0;
  private resyncing: Promise<void> | null = null;
  private pinging = false;
  private reportedStale = false;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    @Inject(AUTH_JWT_OPTIONS) rawOptions: AuthJwtModuleOptions,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
  ) {
    const settings = resolveOptions(rawOptions);
    this.maxStalenessMs = settings.revocationMaxStalenessMs;
    this.heartbeatMs = settings.revocationHeartbeatMs;
    this.resyncMs = settings.revocationResyncMs;
    this.policy = settings.revocationFailurePolicy;
  }

  /**
   * Opens the subscriber connection and loads the list; waits at most
   * 10 s for that (then starts anyway, stale: the policy and readiness say
   * so, and the view catches up when Redis answers).
   */
  async onApplicationBootstrap(): Promise<void> {
    const subscriber = this.redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on('error', () => this.connectionLost());
    subscriber.on('end', () => this.connectionLost());
    subscriber.on('ready', () => this.connectionReady());
    subscriber.connect().catch(() => {
      /* reported through 'error'; node-redis reconnects on its own */
    });
    this.timers.push(
      setInterval(() => void this.heartbeat(), this.heartbeatMs),
      setInterval(() => void this.resync(this.connection), this.resyncMs),
      setInterval(() => this.prune(), PRUNE_INTERVAL_MS),
    );
    for (const timer of this.timers) timer.unref();
    const deadline = Date.now() + Math.max(this.maxStalenessMs, STARTUP_SYNC_WAIT_MS);
    while (!this.isFresh() && Date.now() < deadline) await sleep(20);
  }

  onApplicationShutdown(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    if (this.subscriber?.isOpen) this.subscriber.destroy();
  }

  /**
   * Checks a verified token against the in-memory list: its `jti`, its
   * session (`sid`), and its subject's watermark against `auth_time`.
   * Synchronous: no I/O.
   *
   * @param token the token's `jti`, `sid`, `sub` and `auth_time`
   * @param now the current time, milliseconds since the epoch
   * @returns why the token is revoked, or null
   * @throws RevocationUnavailableError when the view is older than `revocationMaxStalenessMs` and the policy is `fail-closed`
   */
  check(token: RevocableToken, now = Date.now()): RevocationReason {
    if (now - this.freshAsOf > this.maxStalenessMs) this.onStale(now);
    if (this.tokens.has(token.jti)) return 'token revoked';
    if (this.sessions.has(token.sid)) return 'session revoked';
    const watermark = this.watermarks.get(token.sub);
    if (watermark !== undefined && token.authTime < watermark.notBefore) return 'all tokens of the subject revoked';
    return null;
  }

  /**
   * Adds one entry as written to Redis (an announcement, a resync read, or
   * this process's own write). Unknown keys and malformed values are ignored.
   *
   * @param entry the Redis key, its value, and its remaining lifetime in milliseconds (-1: no expiry)
   * @param now the current time, milliseconds since the epoch
   */
  apply(entry: RevocationAnnouncement, now = Date.now()): void {
    if (entry.ttlMs === -2 || !(entry.ttlMs === -1 || entry.ttlMs > 0)) return;
    const forgetAt = entry.ttlMs === -1 ? Number.POSITIVE_INFINITY : now + entry.ttlMs;
    if (entry.key.startsWith(JTI_PREFIX)) {
      keepLatest(this.tokens, entry.key.slice(JTI_PREFIX.length), forgetAt);
    } else if (entry.key.startsWith(SID_PREFIX)) {
      keepLatest(this.sessions, entry.key.slice(SID_PREFIX.length), forgetAt);
    } else if (entry.key.startsWith(SUBJECT_PREFIX)) {
      const notBefore = Number(entry.value);
      if (!Number.isFinite(notBefore)) return;
      const subject = entry.key.slice(SUBJECT_PREFIX.length);
      const current = this.watermarks.get(subject);
      this.watermarks.set(subject, {
        notBefore: Math.max(notBefore, current?.notBefore ?? notBefore),
        forgetAt: Math.max(forgetAt, current?.forgetAt ?? forgetAt),
      });
    }
  }

  /** `revocation-list` in `GET /health/ready`: down when stale under `fail-closed`. */
  probe(): { up: boolean; details: Record<string, unknown> } {
    const stalenessMs = Date.now() - this.freshAsOf;
    const fresh = stalenessMs <= this.maxStalenessMs;
    return {
      up: fresh || this.policy === 'fail-open',
      details: {
        fresh,
        stalenessMs: this.freshAsOf === 0 ? null : stalenessMs,
        maxStalenessMs: this.maxStalenessMs,
        policy: this.policy,
        entries: this.tokens.size + this.sessions.size + this.watermarks.size,
      },
    };
  }

  /** Whether every revocation made up to `revocationMaxStalenessMs` ago is known. */
  isFresh(now = Date.now()): boolean {
    return now - this.freshAsOf <= this.maxStalenessMs;
  }

  private onStale(now: number): void {
    if (!this.reportedStale) {
      this.reportedStale = true;
      this.logger.warn(
        `revocation list is ${this.freshAsOf === 0 ? 'not loaded' : `${now - this.freshAsOf} ms old`} ` +
          `(bound ${this.maxStalenessMs} ms): ${this.policy === 'fail-closed' ? 'refusing every token (fail closed)' : 'answering from the last copy (fail open)'}`,
      );
    }
    if (this.policy === 'fail-closed') throw new RevocationUnavailableError(new Error('revocation list stale'));
  }

  private connectionLost(): void {
    this.connection += 1;
  }

  private connectionReady(): void {
    this.connection += 1;
    const connection = this.connection;
    void this.resync(connection);
  }

  /** Subscribes once; node-redis subscribes again by itself after each reconnection. */
  private async ensureSubscribed(): Promise<boolean> {
    const subscriber = this.subscriber;
    if (this.subscribed || !subscriber) return this.subscribed;
    try {
      await withTimeout(
        subscriber.subscribe(REVOCATION_CHANNEL, (message) => this.onAnnouncement(message)),
        REDIS_TIMEOUT_MS,
      );
      this.subscribed = true;
    } catch {
      /* the heartbeat tries again */
    }
    return this.subscribed;
  }

  private onAnnouncement(message: string): void {
    let entry: unknown;
    try {
      entry = JSON.parse(message);
    } catch {
      return;
    }
    const { key, value, ttlMs } = (entry ?? {}) as Partial<RevocationAnnouncement>;
    if (typeof key === 'string' && typeof value === 'string' && typeof ttlMs === 'number') {
      this.apply({ key, value, ttlMs });
    }
  }

  /** Reads every entry from Redis; on success the view is fresh as of the moment the read began. */
  private resync(connection: number): Promise<void> {
    if (this.resyncing) return this.resyncing;
    this.resyncing = (async () => {
      if (!this.subscriber?.isReady || !(await this.ensureSubscribed())) return;
      const startedAt = Date.now();
      try {
        // One atomic read of the index (entries expiring later than now: at most one access-token
        // lifetime of revocations), then their values and lifetimes in batches.
        const keys = await withTimeout(
          this.redis.zRange(REVOCATION_INDEX_KEY, startedAt, '+inf', { BY: 'SCORE' }),
          REDIS_TIMEOUT_MS,
        );
        for (let start = 0; start < keys.length; start += RESYNC_BATCH) {
          await this.readEntries(keys.slice(start, start + RESYNC_BATCH));
        }
      } catch {
        return; // Redis unreachable: the heartbeat tries again
      }
      if (connection !== this.connection) return; // the subscriber dropped meanwhile: announcements may be lost
      this.syncedConnection = connection;
      this.markFresh(startedAt);
    })().finally(() => {
      this.resyncing = null;
    });
    return this.resyncing;
  }

  private async readEntries(keys: string[]): Promise<void> {
    const reply = (await withTimeout(
      this.redis.eval(READ_ENTRIES, { keys, arguments: [] }),
      REDIS_TIMEOUT_MS,
    )) as Array<string | number | null>;
    const now = Date.now();
    keys.forEach((key, index) => {
      const value = reply[2 * index];
      if (value === null || value === undefined) return;
      this.apply({ key, value: String(value), ttlMs: Number(reply[2 * index + 1]) }, now);
    });
  }

  /** PING on the subscriber connection: its PONG comes after every announcement published before it. */
  private async heartbeat(): Promise<void> {
    const subscriber = this.subscriber;
    if (this.pinging || !subscriber?.isReady) return;
    const connection = this.connection;
    if (this.syncedConnection !== connection) {
      await this.resync(connection);
      return;
    }
    this.pinging = true;
    const sentAt = Date.now();
    try {
      await withTimeout(subscriber.ping(), REDIS_TIMEOUT_MS);
      if (connection === this.connection) this.markFresh(sentAt);
    } catch {
      /* no PONG: freshness stops advancing; the policy takes over at the bound */
    } finally {
      this.pinging = false;
    }
  }

  private markFresh(asOf: number): void {
    if (asOf <= this.freshAsOf) return;
    this.freshAsOf = asOf;
    if (this.reportedStale) {
      this.reportedStale = false;
      this.logger.log('revocation list fresh again');
    }
  }

  private prune(now = Date.now()): void {
    for (const map of [this.tokens, this.sessions]) {
      for (const [id, forgetAt] of map) if (forgetAt <= now) map.delete(id);
    }
    for (const [subject, watermark] of this.watermarks) if (watermark.forgetAt <= now) this.watermarks.delete(subject);
  }
}

function keepLatest(map: Map<string, number>, id: string, forgetAt: number): void {
  const current = map.get(id);
  if (current === undefined || forgetAt > current) map.set(id, forgetAt);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
