import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { REDIS_CLIENT, withTimeout, type ReadinessProbe, type RedisClient } from '@jwt-ms/service-core';
import {
  REVOCATION_GENERATION_KEY,
  REVOCATION_INDEX_KEY,
  parseRevocationGeneration,
  revocationChannel,
  revokedJtiKey,
  revokedSessionKey,
  subjectNotBeforeKey,
  type RevocationAnnouncement,
  type RevocationGeneration,
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

/** Keys per batch of GET/PTTL commands during a full read. */
const RESYNC_BATCH = 500;
/** Longest wait at start-up for the first full read of the list, in milliseconds (then start stale). */
const STARTUP_SYNC_WAIT_MS = 10_000;
/** Longest lifetime kept for any entry, in milliseconds: beyond the longest access token anyone would issue. */
const MAX_ENTRY_TTL_MS = 24 * 3600 * 1000;
/** Largest announcement read, in characters: a real one is under 200. */
const MAX_ANNOUNCEMENT_LENGTH = 1024;
/** Longest id (`jti`, `sid`, `sub`) in a key, in characters. */
const MAX_ID_LENGTH = 256;
/** How far in the future a watermark may lie, in seconds (clock skew between the issuer's hosts). */
const MAX_WATERMARK_LEAD_SECONDS = 300;
/** Interval of the expired-entry sweep, in milliseconds. */
const PRUNE_INTERVAL_MS = 10_000;

interface Watermark {
  /** Tokens of sessions that began before this instant are revoked; seconds since the epoch (fractional). */
  notBefore: number;
  /** When the entry may be forgotten, on the monotonic clock (ms). */
  forgetAt: number;
}

/**
 * The view's clock for freshness and expiry: monotonic milliseconds, so that a
 * wall-clock step (an NTP correction) can neither extend nor cut short the
 * staleness bound.
 */
const monotonic = (): number => performance.now();

/**
 * This process's copy of the revocation list, so that checking a token costs
 * three in-memory lookups instead of a Redis round trip on every request.
 *
 * How it stays complete (and how it knows that it is):
 * - the issuer writes each entry to Redis and announces it on the pub/sub
 *   channel {@link revocationChannel} of its database in the same Lua script (see
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
 * How it knows the list in Redis is the one the issuer wrote (and not an
 * empty one after Redis lost its data): the issuer keeps a generation marker
 * ({@link REVOCATION_GENERATION_KEY}) beside the list. The view loads only an
 * established generation, re-reads the marker with every heartbeat and every
 * full read, and when the marker is gone, not established or replaced, the
 * list is **lost**: an error is logged and counted ({@link losses}) under
 * either policy, and under `fail-closed` every token is refused (503, not
 * ready) until the issuer establishes a new generation, which it does only
 * once every token that could have been revoked before the loss has expired.
 * Under `fail-open` the view answers from its own copy meanwhile. A view that
 * starts while the list is lost never loads: 503 whatever the policy.
 *
 * Entries expire locally when they do in Redis (their PTTL), so the view
 * holds at most the revocations of the last access-token lifetime.
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
  private readonly logger = new Logger('RevocationView');
  private readonly maxStalenessMs: number;
  private readonly heartbeatMs: number;
  private readonly resyncMs: number;
  private readonly policy: RevocationFailurePolicy;

  /** `jti` → when the entry may be forgotten (monotonic ms). */
  private readonly tokens = new Map<string, number>();
  /** `sid` → when the entry may be forgotten (monotonic ms). */
  private readonly sessions = new Map<string, number>();
  /** `sub` → watermark. */
  private readonly watermarks = new Map<string, Watermark>();

  private subscriber: RedisClient | null = null;
  private subscribed = false;
  /** Counts subscriber (re)connections and losses: work started on an older one proves nothing. */
  private connection = 0;
  /** The connection on which a full resynchronisation finished. */
  private syncedConnection = -1;
  /** Every revocation completed before this instant (monotonic ms) is in the view; -Infinity: never loaded. */
  private freshAsOf = Number.NEGATIVE_INFINITY;
  /** Whether a full read has ever succeeded. */
  private loaded = false;
  private readonly channel: string;
  private lastResyncError = '';
  private readonly maxTokenLifetimeSeconds: number;
  /** The established generation this copy belongs to; null until the first full read. */
  private generation: RevocationGeneration | null = null;
  /** The marker's raw value as last read (heartbeat or full read): a change triggers a full read. */
  private lastMarker: string | null | undefined = undefined;
  /** Since when the list is lost (monotonic ms), or null. */
  private lostSince: number | null = null;
  private lostCount = 0;
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
    this.maxTokenLifetimeSeconds = settings.maxTokenLifetimeSeconds;
    this.channel = revocationChannel(redis.options?.database);
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
    const deadline = monotonic() + Math.max(this.maxStalenessMs, STARTUP_SYNC_WAIT_MS);
    while (!this.isFresh() && monotonic() < deadline) await sleep(20);
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
   * @returns why the token is revoked, or null
   * @throws RevocationUnavailableError when the list was never loaded; under `fail-closed` also when it is
   *   older than `revocationMaxStalenessMs` or lost (see the class)
   */
  check(token: RevocableToken): RevocationReason {
    const now = monotonic();
    if (now - this.freshAsOf > this.maxStalenessMs) this.onStale(now);
    if (this.lostSince !== null && this.policy === 'fail-closed')
      throw new RevocationUnavailableError(new Error('revocation list lost'));
    if (this.tokens.has(token.jti)) return 'token revoked';
    if (this.sessions.has(token.sid)) return 'session revoked';
    const watermark = this.watermarks.get(token.sub);
    if (watermark !== undefined && token.authTime < watermark.notBefore) return 'all tokens of the subject revoked';
    return null;
  }

  /**
   * Adds one entry as written to Redis (an announcement, a full read, or this
   * process's own write). Keys outside the layout, oversized ids, lifetimes
   * that are not positive, and watermarks that are not numbers or lie in the
   * future are ignored; lifetimes are capped at 24 h.
   *
   * @param entry the Redis key, its value, and its remaining lifetime in milliseconds (-1 from a full read: no expiry)
   * @returns whether the entry was taken
   */
  apply(entry: RevocationAnnouncement): boolean {
    if (!(entry.ttlMs === -1 || (Number.isFinite(entry.ttlMs) && entry.ttlMs > 0))) return false;
    const forgetAt = monotonic() + (entry.ttlMs === -1 ? MAX_ENTRY_TTL_MS : Math.min(entry.ttlMs, MAX_ENTRY_TTL_MS));
    const idAfter = (prefix: string) => {
      const id = entry.key.slice(prefix.length);
      return id.length > 0 && id.length <= MAX_ID_LENGTH ? id : null;
    };
    if (entry.key.startsWith(JTI_PREFIX)) {
      const jti = idAfter(JTI_PREFIX);
      if (jti === null) return false;
      keepLatest(this.tokens, jti, forgetAt);
    } else if (entry.key.startsWith(SID_PREFIX)) {
      const sid = idAfter(SID_PREFIX);
      if (sid === null) return false;
      keepLatest(this.sessions, sid, forgetAt);
    } else if (entry.key.startsWith(SUBJECT_PREFIX)) {
      const notBefore = Number(entry.value);
      const subject = idAfter(SUBJECT_PREFIX);
      if (subject === null || !Number.isFinite(notBefore) || notBefore < 0) return false;
      if (notBefore > Date.now() / 1000 + MAX_WATERMARK_LEAD_SECONDS) return false;
      const current = this.watermarks.get(subject);
      this.watermarks.set(subject, {
        notBefore: Math.max(notBefore, current?.notBefore ?? notBefore),
        forgetAt: Math.max(forgetAt, current?.forgetAt ?? forgetAt),
      });
    } else {
      return false;
    }
    return true;
  }

  /**
   * `revocation-list` in `GET /health/ready`: down when never loaded, and under
   * `fail-closed` when stale or lost. The route is public, so the details say
   * nothing about the list's contents (not even its size: see {@link size}).
   */
  probe(): { up: boolean; details: Record<string, unknown> } {
    const stalenessMs = monotonic() - this.freshAsOf;
    const fresh = stalenessMs <= this.maxStalenessMs;
    const lost = this.lostSince !== null;
    const usable = this.loaded && ((fresh && !lost) || this.policy === 'fail-open');
    return {
      up: usable,
      details: {
        fresh,
        loaded: this.loaded,
        lost,
        stalenessMs: this.loaded ? Math.round(stalenessMs) : null,
        maxStalenessMs: this.maxStalenessMs,
        policy: this.policy,
      },
    };
  }

  /** Entries held (tokens, sessions, subject watermarks): for internal views and metrics, not the public probe. */
  size(): number {
    return this.tokens.size + this.sessions.size + this.watermarks.size;
  }

  /** How many times this view found the list lost (marker gone, not established, or replaced). */
  losses(): number {
    return this.lostCount;
  }

  /**
   * The longest token lifetime the issuer's revocations cover, in seconds, as
   * published with the list's generation; null before the first full read.
   */
  coveredTokenLifetimeSeconds(): number | null {
    return this.generation?.tokenLifetimeSeconds ?? null;
  }

  /** Whether every revocation made up to `revocationMaxStalenessMs` ago is known. */
  isFresh(): boolean {
    return monotonic() - this.freshAsOf <= this.maxStalenessMs;
  }

  private onStale(now: number): void {
    const failClosed = this.policy === 'fail-closed' || !this.loaded;
    if (!this.reportedStale) {
      this.reportedStale = true;
      this.logger.warn(
        `revocation list is ${this.loaded ? `${Math.round(now - this.freshAsOf)} ms old` : 'not loaded'} ` +
          `(bound ${this.maxStalenessMs} ms): ${failClosed ? 'refusing every token (fail closed)' : 'answering from the last copy (fail open)'}` +
          (this.lastResyncError ? `; last read failed: ${this.lastResyncError}` : ''),
      );
    }
    if (failClosed) throw new RevocationUnavailableError(new Error('revocation list stale'));
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
        subscriber.subscribe(this.channel, (message) => this.onAnnouncement(message)),
        REDIS_TIMEOUT_MS,
      );
      this.subscribed = true;
    } catch {
      /* the heartbeat tries again */
    }
    return this.subscribed;
  }

  private onAnnouncement(message: string): void {
    if (message.length > MAX_ANNOUNCEMENT_LENGTH) return;
    let entry: unknown;
    try {
      entry = JSON.parse(message);
    } catch {
      return;
    }
    const { key, value, ttlMs } = (entry ?? {}) as Partial<RevocationAnnouncement>;
    // An announcement always carries a positive lifetime (-1 only comes from a full read).
    if (typeof key === 'string' && typeof value === 'string' && typeof ttlMs === 'number' && ttlMs > 0) {
      this.apply({ key, value, ttlMs });
    }
  }

  /** Reads every entry from Redis; on success the view is fresh as of the moment the read began. */
  private resync(connection: number): Promise<void> {
    if (this.resyncing) return this.resyncing;
    this.resyncing = (async () => {
      if (!this.subscriber?.isReady || !(await this.ensureSubscribed())) return;
      const startedAt = monotonic();
      let marker: string | null;
      try {
        marker = await this.readMarker();
        const generation = parseRevocationGeneration(marker);
        if (!generation?.established) {
          // Nothing to load, or the list is lost: without a generation, an empty list and a lost one look alike.
          if (this.loaded) this.markLost(generation ? 'being re-established by the issuer' : 'gone');
          else this.lastResyncError = 'the issuer has not established the revocation list (no generation marker)';
          if (!this.loaded) return;
        }
        // One atomic read of the index (entries expiring later than now, in Redis's wall-clock ms: at most
        // one access-token lifetime of revocations), then their values and lifetimes in pipelined batches.
        const keys = await withTimeout(
          this.redis.zRange(REVOCATION_INDEX_KEY, Date.now(), '+inf', { BY: 'SCORE' }),
          REDIS_TIMEOUT_MS,
        );
        for (let start = 0; start < keys.length; start += RESYNC_BATCH) {
          await this.readEntries(keys.slice(start, start + RESYNC_BATCH));
        }
        // The entries belong to the generation only if the marker did not change while they were read.
        if ((await this.readMarker()) !== marker) return;
        if (generation?.established) this.adopt(generation);
      } catch (error) {
        // Redis unreachable, or this connection may not read: the heartbeat tries again; a stale view says why.
        this.lastResyncError = (error as Error).message;
        return;
      }
      if (connection !== this.connection) return; // the subscriber dropped meanwhile: announcements may be lost
      this.syncedConnection = connection;
      this.loaded = true;
      this.lastResyncError = '';
      this.markFresh(startedAt);
    })().finally(() => {
      this.resyncing = null;
    });
    return this.resyncing;
  }

  /** Reads the generation marker (one GET on the command connection). */
  private async readMarker(): Promise<string | null> {
    const marker = await withTimeout(this.redis.get(REVOCATION_GENERATION_KEY), REDIS_TIMEOUT_MS);
    this.lastMarker = marker;
    return marker;
  }

  /** Takes an established generation after a full read of its entries. */
  private adopt(generation: RevocationGeneration): void {
    if (this.generation && this.generation.id !== generation.id && this.lostSince === null) {
      // Lost and re-established between two reads: the loss is over, but it happened.
      this.markLost(`replaced by generation ${generation.id}`);
    }
    if (this.lostSince !== null) {
      this.logger.log(
        `revocation list re-established by the issuer (generation ${generation.id}) after ` +
          `${Math.round((monotonic() - this.lostSince) / 1000)} s`,
      );
    }
    if (this.maxTokenLifetimeSeconds > generation.tokenLifetimeSeconds && this.generation?.id !== generation.id) {
      this.logger.error(
        `the configured longest token lifetime (${this.maxTokenLifetimeSeconds} s) exceeds what the issuer's ` +
          `revocations cover (${generation.tokenLifetimeSeconds} s): tokens living longer are refused`,
      );
    }
    this.generation = generation;
    this.lostSince = null;
  }

  private markLost(why: string): void {
    if (this.lostSince !== null) return;
    this.lostSince = monotonic();
    this.lostCount += 1;
    this.logger.error(
      `revocation list lost in Redis (generation marker ${why}): tokens revoked before the loss could be accepted; ` +
        (this.policy === 'fail-closed'
          ? 'refusing every token (fail closed) until the issuer re-establishes it'
          : "answering from this replica's own copy (fail open)"),
    );
  }

  /** GET and PTTL of each key, pipelined (plain read commands: no script, so a read-only ACL user suffices). */
  private async readEntries(keys: string[]): Promise<void> {
    const replies = await withTimeout(
      Promise.all(keys.map((key) => Promise.all([this.redis.get(key), this.redis.pTTL(key)]))),
      REDIS_TIMEOUT_MS,
    );
    replies.forEach(([value, ttlMs], index) => {
      if (value !== null) this.apply({ key: keys[index], value: String(value), ttlMs: Number(ttlMs) });
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
    const sentAt = monotonic();
    try {
      const seen = this.lastMarker;
      const [, marker] = await Promise.all([withTimeout(subscriber.ping(), REDIS_TIMEOUT_MS), this.readMarker()]);
      // A flushed or replaced list shows in the marker within one heartbeat: read it all again.
      if (marker !== seen) {
        this.pinging = false;
        await this.resync(connection);
        return;
      }
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

  private prune(now = monotonic()): void {
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
