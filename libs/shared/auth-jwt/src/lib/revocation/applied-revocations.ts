import type { RevocationEntry, RevocationEntryKind } from '@jwt-ms/contracts';

/**
 * How an entry reached this replica:
 * - `pubsub`: pushed, by the tail of the issuer's log (the blocking read that replaced Redis pub/sub, decision
 *   0013), so the delay from the issuer's announcement was measured;
 * - `load`: found by a full read (at start, after a lost catch-up point or a loss of the list), which reads
 *   what is stored rather than when it was announced: no delay is measured.
 */
export type RevocationSource = 'pubsub' | 'load';

/** Default number of announcements kept per source. */
export const APPLIED_REVOCATIONS_CAPACITY = 4096;

/** One revocation as this replica applied it. */
export interface AppliedRevocation {
  /** What it revokes: one token (`jti`), one session (`sid`), or a subject's sessions begun before a watermark (`sub`). */
  kind: RevocationEntryKind;
  /** The `jti`, `sid` or `sub`. */
  id: string;
  /** The entry's expiry, milliseconds since the epoch (the issuer's). */
  expiresAtMs: number;
  /** A subject's watermark, seconds since the epoch; undefined for a token or a session. */
  notBefore?: number;
  /**
   * When the issuer announced it: the time of its log entry's ID (milliseconds since the epoch, the clock of
   * the Redis server that appended it, in the issuer's write script); null when it was read from the entries
   * hash by a full read, which does not say when an entry was written.
   */
  announcedAtMs: number | null;
  /** When this replica applied it to its list, milliseconds since the epoch (this host's wall clock). */
  appliedAtMs: number;
  /**
   * `appliedAtMs − announcedAtMs`, in milliseconds, for an entry that arrived by the tail (`pubsub`); a
   * negative difference (Redis's clock ahead of this host's) counts as 0, as the propagation metric does.
   * Null for `load`: a full read measures nothing about propagation.
   */
  delayMs: number | null;
  source: RevocationSource;
}

/** How an entry was applied: {@link AppliedRevocations.record}'s second argument. */
export interface RevocationApplication {
  source: RevocationSource;
  /** The log entry's time, milliseconds since the epoch (Redis's clock); null for an entry of the hash. */
  announcedAtMs: number | null;
  /** Milliseconds since the epoch, this host's wall clock. */
  appliedAtMs: number;
  /**
   * For `load`: which full read found it (any number that changes from one full read to the next). Each full
   * read records at most `capacity` entries, the first it finds: its cost stays bounded at a million entries.
   */
  readId?: number;
}

/** Options of {@link AppliedRevocations}. */
export interface AppliedRevocationsOptions {
  /** Most announcements kept per source (so at most twice this in all): a positive integer; default 4096. */
  capacity?: number;
}

/**
 * A bounded record of the revocations this replica applied recently, by what
 * they revoke (`jti`, `sid`, `sub`), with when the issuer announced each, when
 * this replica applied it and the delay between: what lets a replica say,
 * from its own measurement, how long a logout took to reach it
 * (`GET /<service>/revocation-status`). Never consulted to accept or refuse a
 * token: {@link RevocationList} decides that.
 *
 * Two rings of at most `capacity` records each, one per {@link RevocationSource},
 * holding the records of the last `capacity` announcements of that source (a
 * key recorded again moves to the newest place), so memory is bounded whatever the revocation rate
 * (a record is an id of at most 256 characters, its key and a few numbers: some
 * 700 bytes at worst, so under 6 MB for both maps at 4096; about 2 MB with UUIDs), and a full read of a million entries cannot push
 * out the delays measured from the log. Only what the list took is recorded
 * (the caller's rule), so ids are at most `MAX_REVOCATION_ID_LENGTH`.
 *
 * Rules:
 * - from the log (`pubsub`): always recorded, as the newest announcement for its key; it supersedes what a
 *   full read found for the key;
 * - from a full read (`load`): at most `capacity` entries per full read, the first it finds (recording
 *   costs a map update per entry, which a full read of a million entries should not pay a million times); an
 *   entry that was not recorded is reported revoked without a record. An entry equal (same expiry, same watermark) to the one the log brought is the
 *   same announcement read again: the measured record stays; a different one (written while this replica
 *   did not follow the log) is recorded as loaded.
 */
export class AppliedRevocations {
  /** Most entries per source, as given. */
  readonly capacity: number;
  private readonly pushed: RecordRing;
  private readonly loaded: RecordRing;
  /** The full read loads are being recorded from, and how many of its entries were recorded. */
  private currentRead: number | undefined = undefined;
  private recordedInRead = 0;

  /**
   * @param options the capacity per source
   * @throws RangeError when `capacity` is not a positive integer
   */
  constructor(options: AppliedRevocationsOptions = {}) {
    const capacity = options.capacity ?? APPLIED_REVOCATIONS_CAPACITY;
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity is a positive integer');
    this.capacity = capacity;
    this.pushed = new RecordRing(capacity);
    this.loaded = new RecordRing(capacity);
  }

  /**
   * Records one entry the list has just taken.
   *
   * @param entry the entry as stored (expiry in milliseconds since the epoch, a watermark in seconds)
   * @param application its source, when it was announced (ms since the epoch, or null) and applied (ms)
   */
  record(entry: RevocationEntry, application: RevocationApplication): void {
    if (application.source === 'load') {
      if (application.readId !== this.currentRead) {
        this.currentRead = application.readId;
        this.recordedInRead = 0;
      }
      if (this.recordedInRead >= this.capacity) return;
      this.recordedInRead += 1;
    }
    const key = keyOf(entry.kind, entry.id);
    if (application.source === 'load') {
      const measured = this.pushed.get(key);
      if (measured && sameEntry(measured, entry)) return;
    } else {
      this.loaded.delete(key);
    }
    const announcedAtMs = application.announcedAtMs;
    const record: AppliedRevocation = {
      kind: entry.kind,
      id: entry.id,
      expiresAtMs: entry.expiresAtMs,
      notBefore: entry.kind === 'subject' ? entry.notBefore : undefined,
      announcedAtMs,
      appliedAtMs: application.appliedAtMs,
      delayMs:
        application.source === 'pubsub' && announcedAtMs !== null
          ? Math.max(0, application.appliedAtMs - announcedAtMs)
          : null,
      source: application.source,
    };
    (application.source === 'pubsub' ? this.pushed : this.loaded).set(key, record);
  }

  /**
   * The newest record for one key: the log's, unless a full read found a newer, different entry since.
   *
   * @param kind `token` (a `jti`), `session` (a `sid`) or `subject` (a `sub`)
   * @param id the claim's value
   * @returns the record, or undefined when none is held (never applied here, or pushed out by newer ones)
   */
  find(kind: RevocationEntryKind, id: string): AppliedRevocation | undefined {
    const key = keyOf(kind, id);
    const measured = this.pushed.get(key);
    const loaded = this.loaded.get(key);
    if (measured === undefined || loaded === undefined) return measured ?? loaded;
    return loaded.appliedAtMs > measured.appliedAtMs ? loaded : measured;
  }

  /** Records held, both sources together (at most twice {@link capacity}). */
  size(): number {
    return this.pushed.size() + this.loaded.size();
  }
}

/**
 * The records of the last `capacity` calls of {@link set}, by key: a ring of keys beside a map. Eviction
 * overwrites the ring's oldest slot, O(1); a Map alone, evicting its first key, would walk past every
 * deleted entry at its front on each eviction (seconds for a full read of a million entries).
 */
class RecordRing {
  private readonly byKey = new Map<string, { record: AppliedRevocation; slot: number }>();
  private readonly slots: Array<string | undefined>;
  private next = 0;

  constructor(capacity: number) {
    this.slots = new Array<string | undefined>(capacity).fill(undefined);
  }

  get(key: string): AppliedRevocation | undefined {
    return this.byKey.get(key)?.record;
  }

  /** Records `key` as the newest, forgetting the record made `capacity` calls ago. */
  set(key: string, record: AppliedRevocation): void {
    this.delete(key);
    const slot = this.next;
    const evicted = this.slots[slot];
    if (evicted !== undefined) this.byKey.delete(evicted);
    this.slots[slot] = key;
    this.byKey.set(key, { record, slot });
    this.next = (slot + 1) % this.slots.length;
  }

  delete(key: string): void {
    const held = this.byKey.get(key);
    if (held === undefined) return;
    this.slots[held.slot] = undefined;
    this.byKey.delete(key);
  }

  size(): number {
    return this.byKey.size;
  }
}

function keyOf(kind: RevocationEntryKind, id: string): string {
  return `${kind}:${id}`;
}

function sameEntry(record: AppliedRevocation, entry: RevocationEntry): boolean {
  return (
    record.expiresAtMs === entry.expiresAtMs && (entry.kind === 'subject' ? record.notBefore === entry.notBefore : true)
  );
}
