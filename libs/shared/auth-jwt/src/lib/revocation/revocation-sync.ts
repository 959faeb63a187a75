import { Logger } from '@nestjs/common';
import { withTimeout, type RedisClient } from '@jwt-ms/service-core';
import {
  REVOCATION_ENTRIES_KEY,
  REVOCATION_GENERATION_KEY,
  REVOCATION_LOG_KEY,
  parseRevocationEntry,
  parseRevocationGeneration,
  type RevocationEntry,
  type RevocationGeneration,
} from '@jwt-ms/contracts';
import { REDIS_TIMEOUT_MS } from './revocation';
import type { RevocationFreshness } from './revocation-freshness';
import type { RevocationList } from './revocation-list';
import type { RevocationApplication } from './applied-revocations';

/** Fields per HSCAN reply during a full read: a few hundred round trips at a million entries. */
const FULL_READ_BATCH = 5000;
/** Log entries per XREAD reply. */
const LOG_BATCH = 1000;
/** Pause after a failed read before the next try, in milliseconds. */
const RETRY_DELAY_MS = 200;
/**
 * A tail read that comes back longer than this after the previous one, in
 * milliseconds, may have slept through a trim of the log (a frozen process, a
 * long pause): the catch-up point is checked before it is trusted.
 */
const CATCH_UP_CHECK_GAP_MS = 10_000;

/** Timing of a {@link RevocationSync}, in milliseconds, and the token lifetime this verifier accepts. */
export interface RevocationSyncSettings {
  /** Longest wait of one blocking XREAD of the log (and interval of the marker read), in milliseconds. */
  heartbeatMs: number;
  /** The longest access-token lifetime this verifier accepts, in seconds: compared with the generation's. */
  maxTokenLifetimeSeconds: number;
  /**
   * Told of each entry that arrives by the tail, with the milliseconds from its
   * append to the log (its stream ID's time, on Redis's clock) to now (this
   * host's wall clock): the propagation delay (metrics). Not told of entries
   * read in full, which are old by design.
   */
  onPropagated?: (delayMs: number) => void;
  /**
   * Told of each entry the list took (added, or merged into what it held), with how it came: by the tail
   * (`pubsub`, its log entry's time) or by a full read (`load`: from the hash, no time; from the log read
   * that ends a full read, its log entry's time). Not told of entries the list ignored or refused at its bound.
   */
  onApplied?: (entry: RevocationEntry, application: RevocationApplication) => void;
}

/** Where a reader stands in the log: the ID of the last entry it applied (`0-0`: before the first). */
type LogId = string;

/**
 * Keeps a {@link RevocationList} equal to the list in Redis, and tells
 * {@link RevocationFreshness} how current it is. The Redis side of the view.
 * Every key it reads shares the revocation hash tag, so on Redis Cluster it
 * talks to one shard. The list in Redis (layout in `@jwt-ms/contracts`):
 * a hash of live entries, and a log (a stream) of every write, trimmed by time.
 *
 * - **Full read**, at start and only when the catch-up point is lost: note the
 *   log's last ID, HSCAN the entries hash in batches of 5000 (no round trip per
 *   entry), then read the log from the noted ID. An entry written meanwhile
 *   arrives by one path or the other.
 * - **Tail**: on a connection of its own (a duplicate: its blocking reads must
 *   not hold up the process's other commands), `XREAD BLOCK heartbeatMs` from
 *   the last ID seen. A revocation arrives about a millisecond after the
 *   issuer's write. A read that comes back holding all there was proves the
 *   copy complete as of the moment it was sent (Redis answers a blocking read
 *   with every entry added before it returns). So the commands a replica sends
 *   per minute depend on the heartbeat, not on how many entries exist.
 * - **Catch-up** after a reconnection, a failover or a long pause: `XINFO
 *   STREAM` tells whether the log still holds everything after the last ID.
 *   The reader counts the entries it has seen against the log's
 *   `entries-added` (Redis ≥ 7.0), so it knows how many were added after its
 *   ID; trimming removes the oldest entries only, so if the log is at least
 *   that long, none of them was trimmed. And the log must not be behind the ID
 *   (`last-generated-id`), as after a failover to a replica that had not
 *   received the newest writes. If both hold, the tail reads on from the ID;
 *   if not, the catch-up point is lost: full read.
 * - **Generation marker** ({@link REVOCATION_GENERATION_KEY}), read beside
 *   every tail read: only an established generation is loaded, and a marker
 *   gone, not established or replaced means the list is lost (a flush, a
 *   failover to an empty replica). A change triggers a full read.
 *
 * Only read commands (GET, HSCAN, XREAD, XINFO STREAM): a read-only ACL user suffices.
 */
export class RevocationSync {
  private readonly logger = new Logger('RevocationView');
  private tail: RedisClient | null = null;
  private running = false;
  /** The established generation the list belongs to; null until the first full read. */
  private generation: RevocationGeneration | null = null;
  /** The marker's raw value as loaded; undefined before the first full read. */
  private loadedMarker: string | null | undefined = undefined;
  /** The ID of the last log entry applied; null when no full read has succeeded (or its point was lost). */
  private position: LogId | null = null;
  /** How many entries the log had ever been given up to {@link position} (its `entries-added` then). */
  private addedUpTo = 0;
  private fullReadRequested = false;
  private completedFullReads = 0;
  private readingInFull = false;
  /** Whether an entry was refused at the memory bound since the current full read began. */
  private refused = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  /**
   * @param redis the process's command connection (standalone or cluster); the tail uses a duplicate
   * @param list where entries go
   * @param freshness what is told of every full read, complete tail read and loss
   * @param settings the heartbeat and the accepted token lifetime
   */
  constructor(
    private readonly redis: RedisClient,
    private readonly list: RevocationList,
    private readonly freshness: RevocationFreshness,
    private readonly settings: RevocationSyncSettings,
  ) {}

  /**
   * Starts the loop: a full read as soon as Redis answers, then the tail.
   * Returns at once (watch {@link RevocationFreshness.isFresh}).
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops the loop and closes the tail connection; resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    this.closeTail();
    await this.loop;
  }

  /**
   * Asks for a full read before the next tail read: after entries were refused
   * for the memory bound and room is free again, only a full read can recover them.
   */
  requestFullRead(): void {
    this.fullReadRequested = true;
  }

  /**
   * The longest token lifetime the issuer's revocations cover, in seconds, as
   * published with the list's generation; null before the first full read.
   */
  coveredTokenLifetimeSeconds(): number | null {
    return this.generation?.tokenLifetimeSeconds ?? null;
  }

  /** Whether a full read is under way (its HSCAN pass begun, not yet done). */
  isReadingInFull(): boolean {
    return this.readingInFull;
  }

  /** How many full reads have completed: one at start, then one per lost catch-up point (or loss). */
  fullReads(): number {
    return this.completedFullReads;
  }

  private async run(): Promise<void> {
    let lastReadAt = Number.NEGATIVE_INFINITY;
    let checkCatchUp = false;
    while (this.running) {
      try {
        if (this.position === null || this.fullReadRequested) {
          await this.fullRead();
          lastReadAt = this.freshness.now();
          checkCatchUp = false;
          continue;
        }
        if (checkCatchUp || this.freshness.now() - lastReadAt > CATCH_UP_CHECK_GAP_MS) {
          if (!(await this.catchUpPointHolds(this.position))) {
            this.logger.warn('revocation log no longer holds what followed the last entry read: reading it in full');
            this.position = null;
            continue;
          }
          checkCatchUp = false;
        }
        await this.tailOnce();
        lastReadAt = this.freshness.now();
      } catch (error) {
        if (!this.running) return;
        // Redis unreachable, a failover under way, this connection not allowed to read: try again, then check
        // the catch-up point (the log may have moved on, or lost entries, meanwhile). A stale copy says why.
        this.freshness.lastReadError = (error as Error).message;
        this.closeTail();
        checkCatchUp = true;
        await this.pause(RETRY_DELAY_MS);
      }
    }
  }

  /**
   * One blocking read of the log from {@link position}, beside a read of the
   * generation marker; freshness advances to when both were sent if the read
   * held everything there was and the marker did not change.
   */
  private async tailOnce(): Promise<void> {
    const position = this.position as LogId;
    const tail = await this.tailConnection();
    const sentAt = this.freshness.now();
    const [reply, marker] = await Promise.all([
      withTimeout(
        tail.xRead({ key: REVOCATION_LOG_KEY, id: position }, { BLOCK: this.settings.heartbeatMs, COUNT: LOG_BATCH }),
        this.settings.heartbeatMs + REDIS_TIMEOUT_MS,
      ),
      this.readMarker(),
    ]);
    const read = this.applyLog(reply, 'pubsub');
    if (read.last !== null) this.position = read.last;
    this.addedUpTo += read.count;
    if (marker !== this.loadedMarker) {
      if (!sameList(marker, this.loadedMarker)) {
        // Flushed, lost in a failover, re-established by the issuer: what the copy holds proves nothing now.
        this.position = null;
        return;
      }
      // The same generation with another covered lifetime (an issuer's ACCESS_TOKEN_TTL_SECONDS changed, or two
      // issuers disagree): the entries are unchanged, so no full read; the lifetime applies from now.
      this.loadedMarker = marker;
      const generation = parseRevocationGeneration(marker);
      if (generation?.established) this.adopt(generation);
    }
    if (read.count >= LOG_BATCH) return; // more may follow: the next read says
    // A read that timed out proves more: Redis answered "nothing after the last ID" at the end of its block, which
    // began when the command arrived, after it was sent. So every revocation made before `sentAt + heartbeatMs`
    // is in the copy, and the copy's age stays under one heartbeat instead of two.
    const timedOut = reply === null;
    this.freshness.markFresh(timedOut ? Math.min(sentAt + this.settings.heartbeatMs, this.freshness.now()) : sentAt);
  }

  /**
   * Reads every entry: the log's position first, then the hash, then the log
   * from that position. On success the copy is complete as of when it began.
   */
  private async fullRead(): Promise<void> {
    try {
      await this.readInFull();
    } finally {
      this.readingInFull = false;
    }
  }

  private async readInFull(): Promise<void> {
    this.fullReadRequested = false;
    this.refused = false;
    const startedAt = this.freshness.now();
    const marker = await this.readMarker();
    const generation = parseRevocationGeneration(marker);
    if (!generation?.established) {
      // Nothing to load, or the list is lost: without a generation, an empty list and a lost one look alike.
      if (!this.freshness.isLoaded()) {
        this.freshness.lastReadError = 'the issuer has not established the revocation list (no generation marker)';
        await this.pause(this.settings.heartbeatMs);
        return;
      }
      // Lost after a load: counted, and under fail-open the copy keeps taking what the issuer writes meanwhile.
      this.freshness.markLost(generation ? 'being re-established by the issuer' : 'gone');
    }
    const log = await this.logState();
    this.readingInFull = true;
    const from = log.lastGeneratedId;
    let addedUpTo = log.entriesAdded;
    let entries = 0;
    let cursor = '0';
    do {
      const reply = await withTimeout(
        this.redis.hScan(REVOCATION_ENTRIES_KEY, cursor, { COUNT: FULL_READ_BATCH }),
        REDIS_TIMEOUT_MS,
      );
      cursor = String(reply.cursor);
      const appliedAtMs = Date.now();
      for (const { field, value } of reply.entries) {
        const entry = parseRevocationEntry(String(field), String(value));
        if (entry !== null && this.add(entry, 'load', null, appliedAtMs)) entries += 1;
      }
    } while (cursor !== '0' && this.running);
    let position = from;
    for (;;) {
      const reply = await withTimeout(
        this.redis.xRead({ key: REVOCATION_LOG_KEY, id: position }, { COUNT: LOG_BATCH }),
        REDIS_TIMEOUT_MS,
      );
      const read = this.applyLog(reply, 'load');
      if (read.last !== null) position = read.last;
      addedUpTo += read.count;
      if (read.count < LOG_BATCH) break;
    }
    // The entries belong to the generation only if it did not change while they were read.
    if (!sameList(await this.readMarker(), marker)) return;
    if (generation?.established) this.adopt(generation);
    this.loadedMarker = marker;
    this.position = position;
    this.addedUpTo = addedUpTo;
    this.freshness.markLoaded(startedAt);
    this.completedFullReads += 1;
    if (!this.refused) this.freshness.clearOverflow();
    this.logger.log(
      `revocation list read in full: ${entries} live entries in ${Math.round(this.freshness.now() - startedAt)} ms`,
    );
  }

  /**
   * Adds one entry; the list refuses it only at its memory bound, which the freshness then reports.
   *
   * @param source by the tail or by a full read (for `onApplied`)
   * @param announcedAtMs its log entry's time, ms since the epoch; null for an entry of the hash
   * @param appliedAtMs now, ms since the epoch
   * @returns whether the list holds it now (false: expired or malformed, or refused at the bound)
   */
  private add(
    entry: RevocationEntry,
    source: RevocationApplication['source'],
    announcedAtMs: number | null,
    appliedAtMs: number,
  ): boolean {
    const outcome = this.list.add(entry);
    if (outcome === 'added' || outcome === 'updated') {
      // completedFullReads rises at the end of each full read: during one, it names that read.
      const readId = source === 'load' ? this.completedFullReads : undefined;
      this.settings.onApplied?.(entry, { source, announcedAtMs, appliedAtMs, readId });
      return true;
    }
    if (outcome !== 'full') return false;
    this.refused = true;
    this.freshness.markOverflow(this.list.maxEntries);
    return false;
  }

  /**
   * Applies the entries of one XREAD reply; returns how many it held and the last ID (null: none).
   *
   * @param source `pubsub` for the tail (each entry's delay goes to `onPropagated`), `load` for the log read
   *   that ends a full read (old by design: no delay told)
   */
  private applyLog(reply: unknown, source: RevocationApplication['source']): { count: number; last: LogId | null } {
    const streams = reply as Array<{ messages: Array<{ id: string; message: Record<string, string> }> }> | null;
    const messages = streams?.[0]?.messages ?? [];
    const appliedAt = Date.now();
    const onPropagated = source === 'pubsub' ? this.settings.onPropagated : undefined;
    for (const { id, message } of messages) {
      const entry = parseRevocationEntry(String(message['field'] ?? ''), String(message['value'] ?? ''));
      if (entry === null) continue;
      // A stream ID is `<milliseconds>-<sequence>`, the milliseconds those of Redis's clock at the append.
      const announcedAt = Number.parseInt(String(id), 10);
      this.add(entry, source, Number.isSafeInteger(announcedAt) ? announcedAt : null, appliedAt);
      if (onPropagated) onPropagated(appliedAt - announcedAt);
    }
    return { count: messages.length, last: messages.length > 0 ? String(messages[messages.length - 1].id) : null };
  }

  /**
   * Whether the log still holds every entry after `position`, and is the log
   * `position` was read from (see the class).
   */
  private async catchUpPointHolds(position: LogId): Promise<boolean> {
    const { lastGeneratedId, entriesAdded, length } = await this.logState();
    return compareLogIds(lastGeneratedId, position) >= 0 && length >= entriesAdded - this.addedUpTo;
  }

  /**
   * The log's last generated ID, how many entries it was ever given, and how
   * many it holds (`0-0`, 0, 0 for a log that does not exist).
   */
  private async logState(): Promise<{ lastGeneratedId: LogId; entriesAdded: number; length: number }> {
    try {
      const info = (await withTimeout(this.redis.xInfoStream(REVOCATION_LOG_KEY), REDIS_TIMEOUT_MS)) as unknown as
        | Record<string, unknown>
        | Map<string, unknown>;
      const member = (name: string) => (info instanceof Map ? info.get(name) : info[name]);
      const entriesAdded = Number(member('entries-added'));
      if (!Number.isSafeInteger(entriesAdded)) throw new Error('the revocation log needs Redis 7.0 or later');
      return {
        lastGeneratedId: String(member('last-generated-id') ?? '0-0'),
        entriesAdded,
        length: Number(member('length') ?? 0),
      };
    } catch (error) {
      // No write yet (or the list was flushed: the marker says so): an empty log from the start.
      if (/no such key/i.test((error as Error).message)) return { lastGeneratedId: '0-0', entriesAdded: 0, length: 0 };
      throw error;
    }
  }

  /** Reads the generation marker (one GET on the command connection). */
  private readMarker(): Promise<string | null> {
    return withTimeout(this.redis.get(REVOCATION_GENERATION_KEY), REDIS_TIMEOUT_MS);
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

  /**
   * The tail's own connection, made on first use and after every failure.
   *
   * @throws Error when it cannot connect within {@link REDIS_TIMEOUT_MS} (the loop retries)
   */
  private async tailConnection(): Promise<RedisClient> {
    // Stopped while the loop was between two awaits: no new connection that nobody would close.
    if (!this.running) throw new Error('revocation sync stopped');
    if (this.tail === null) {
      const tail = this.redis.duplicate() as RedisClient;
      tail.on('error', () => {
        /* the loop sees the failed read, closes this connection and makes another */
      });
      this.tail = tail;
      await withTimeout(tail.connect() as Promise<unknown>, REDIS_TIMEOUT_MS);
    }
    return this.tail;
  }

  private closeTail(): void {
    const tail = this.tail;
    this.tail = null;
    try {
      tail?.destroy();
    } catch {
      /* never connected: nothing to close */
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/**
 * Whether two values of the generation marker name the same list: the same generation id, in the same state.
 * Other members (the covered token lifetime) may change without the entries changing.
 *
 * @param a a raw marker value, null when absent, undefined when never read
 * @param b another
 */
function sameList(a: string | null | undefined, b: string | null | undefined): boolean {
  if (a === b) return true;
  const [x, y] = [parseRevocationGeneration(a ?? null), parseRevocationGeneration(b ?? null)];
  return x !== null && y !== null && x.id === y.id && x.established === y.established;
}

/**
 * Orders two stream IDs (`<milliseconds>-<sequence>`), as Redis does.
 *
 * @returns negative when `a` comes first, 0 when equal, positive when `b` does
 */
export function compareLogIds(a: LogId, b: LogId): number {
  const [aMs, aSeq = '0'] = a.split('-');
  const [bMs, bSeq = '0'] = b.split('-');
  const byMs = compareDigits(aMs, bMs);
  return byMs !== 0 ? byMs : compareDigits(aSeq, bSeq);
}

/** Compares two unsigned decimal integers of any length (stream IDs are 64-bit: beyond a double's precision). */
function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}
