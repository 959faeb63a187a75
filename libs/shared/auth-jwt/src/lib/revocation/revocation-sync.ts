import { Logger } from '@nestjs/common';
import { withTimeout, type RedisClient } from '@jwt-ms/service-core';
import {
  REVOCATION_GENERATION_KEY,
  REVOCATION_INDEX_KEY,
  parseRevocationAnnouncement,
  parseRevocationGeneration,
  revocationChannel,
  type RevocationGeneration,
} from '@jwt-ms/contracts';
import { REDIS_TIMEOUT_MS } from './revocation';
import type { RevocationFreshness } from './revocation-freshness';
import type { RevocationList } from './revocation-list';

/** Keys per batch of GET/PTTL commands during a full read. */
const RESYNC_BATCH = 500;

/** Timing of a {@link RevocationSync}, in milliseconds, and the token lifetime this verifier accepts. */
export interface RevocationSyncSettings {
  /** Interval of the PING on the subscriber connection (and of the marker read), in milliseconds. */
  heartbeatMs: number;
  /** Interval of the unconditional full read, in milliseconds. */
  resyncMs: number;
  /** The longest access-token lifetime this verifier accepts, in seconds: compared with the generation's. */
  maxTokenLifetimeSeconds: number;
}

/**
 * Keeps a {@link RevocationList} equal to the list in Redis, and tells
 * {@link RevocationFreshness} how current it is. The Redis side of the view:
 *
 * - subscribes to the announcements on {@link revocationChannel} of its
 *   database (on its own connection, a duplicate of the command one), first;
 * - then reads every entry (the members of the index {@link REVOCATION_INDEX_KEY}
 *   that have not expired, then their values and PTTLs; no keyspace scan): at
 *   start, after every reconnection, and every `resyncMs`. An entry written
 *   meanwhile arrives by one path or the other;
 * - every `heartbeatMs`, sends PING on the subscriber connection: Redis
 *   answers after delivering every announcement published before it, so a
 *   PONG proves the list held every revocation made before the PING was sent;
 * - reads the generation marker ({@link REVOCATION_GENERATION_KEY}) with every
 *   heartbeat and every full read: it loads only an established generation, and
 *   a marker gone, not established or replaced means the list is lost.
 *
 * Only read commands (GET, PTTL, ZRANGE, SUBSCRIBE, PING): a read-only ACL user suffices.
 */
export class RevocationSync {
  private readonly logger = new Logger('RevocationView');
  private readonly channel: string;
  private subscriber: RedisClient | null = null;
  private subscribed = false;
  /** Counts subscriber (re)connections and losses: work started on an older one proves nothing. */
  private connection = 0;
  /** The connection on which a full resynchronisation finished. */
  private syncedConnection = -1;
  /** The established generation the list belongs to; null until the first full read. */
  private generation: RevocationGeneration | null = null;
  /** The marker's raw value as last read (heartbeat or full read): a change triggers a full read. */
  private lastMarker: string | null | undefined = undefined;
  private resyncing: Promise<void> | null = null;
  private pinging = false;
  private timers: NodeJS.Timeout[] = [];

  /**
   * @param redis the process's command connection; its database names the channel
   * @param list where entries go
   * @param freshness what is told of every full read, PONG and loss
   * @param settings intervals and the accepted token lifetime
   */
  constructor(
    private readonly redis: RedisClient,
    private readonly list: RevocationList,
    private readonly freshness: RevocationFreshness,
    private readonly settings: RevocationSyncSettings,
  ) {
    this.channel = revocationChannel(redis.options?.database);
  }

  /**
   * Opens the subscriber connection and starts the heartbeat and the periodic
   * full read. Returns at once: the first full read follows the connection's
   * `ready` (watch {@link RevocationFreshness.isFresh}).
   */
  start(): void {
    const subscriber = this.redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on('error', () => this.connectionLost());
    subscriber.on('end', () => this.connectionLost());
    subscriber.on('ready', () => this.connectionReady());
    subscriber.connect().catch(() => {
      /* reported through 'error'; node-redis reconnects on its own */
    });
    this.timers.push(
      setInterval(() => void this.heartbeat(), this.settings.heartbeatMs),
      setInterval(() => void this.resync(this.connection), this.settings.resyncMs),
    );
    for (const timer of this.timers) timer.unref();
  }

  /** Stops the timers and closes the subscriber connection. */
  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    if (this.subscriber?.isOpen) this.subscriber.destroy();
  }

  /**
   * The longest token lifetime the issuer's revocations cover, in seconds, as
   * published with the list's generation; null before the first full read.
   */
  coveredTokenLifetimeSeconds(): number | null {
    return this.generation?.tokenLifetimeSeconds ?? null;
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
    const announcement = parseRevocationAnnouncement(message);
    if (announcement !== null) this.list.apply(announcement);
  }

  /** Reads every entry from Redis; on success the list is fresh as of the moment the read began. */
  private resync(connection: number): Promise<void> {
    if (this.resyncing) return this.resyncing;
    this.resyncing = (async () => {
      if (!this.subscriber?.isReady || !(await this.ensureSubscribed())) return;
      const startedAt = this.freshness.now();
      let marker: string | null;
      try {
        marker = await this.readMarker();
        const generation = parseRevocationGeneration(marker);
        const loaded = this.freshness.isLoaded();
        if (!generation?.established) {
          // Nothing to load, or the list is lost: without a generation, an empty list and a lost one look alike.
          if (loaded) this.freshness.markLost(generation ? 'being re-established by the issuer' : 'gone');
          else {
            this.freshness.lastReadError = 'the issuer has not established the revocation list (no generation marker)';
            return;
          }
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
        // Redis unreachable, or this connection may not read: the heartbeat tries again; a stale list says why.
        this.freshness.lastReadError = (error as Error).message;
        return;
      }
      if (connection !== this.connection) return; // the subscriber dropped meanwhile: announcements may be lost
      this.syncedConnection = connection;
      this.freshness.markLoaded(startedAt);
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
    if (this.generation && this.generation.id !== generation.id && !this.freshness.isLost()) {
      // Lost and re-established between two reads: the loss is over, but it happened.
      this.freshness.markLost(`replaced by generation ${generation.id}`);
    }
    this.freshness.markEstablished(generation.id);
    if (
      this.settings.maxTokenLifetimeSeconds > generation.tokenLifetimeSeconds &&
      this.generation?.id !== generation.id
    ) {
      this.logger.error(
        `the configured longest token lifetime (${this.settings.maxTokenLifetimeSeconds} s) exceeds what the issuer's ` +
          `revocations cover (${generation.tokenLifetimeSeconds} s): tokens living longer are refused`,
      );
    }
    this.generation = generation;
  }

  /** GET and PTTL of each key, pipelined (plain read commands: no script, so a read-only ACL user suffices). */
  private async readEntries(keys: string[]): Promise<void> {
    const replies = await withTimeout(
      Promise.all(keys.map((key) => Promise.all([this.redis.get(key), this.redis.pTTL(key)]))),
      REDIS_TIMEOUT_MS,
    );
    replies.forEach(([value, ttlMs], index) => {
      if (value !== null) this.list.apply({ key: keys[index], value: String(value), ttlMs: Number(ttlMs) });
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
    const sentAt = this.freshness.now();
    try {
      const seen = this.lastMarker;
      const [, marker] = await Promise.all([withTimeout(subscriber.ping(), REDIS_TIMEOUT_MS), this.readMarker()]);
      // A flushed or replaced list shows in the marker within one heartbeat: read it all again.
      if (marker !== seen) {
        this.pinging = false;
        await this.resync(connection);
        return;
      }
      if (connection === this.connection) this.freshness.markFresh(sentAt);
    } catch {
      /* no PONG: freshness stops advancing; the policy takes over at the bound */
    } finally {
      this.pinging = false;
    }
  }
}
