import { randomBytes } from 'node:crypto';

/**
 * Computes the 64-bit digest of an id as two 32-bit lanes.
 *
 * @param id any string (UTF-16 code units are hashed, so every id works)
 * @param out receives the digest: `out[0]` the high lane, `out[1]` the low lane (the low lane picks the home slot)
 */
export type DigestFunction = (id: string, out: Int32Array) => void;

/** What {@link DigestTable.upsert} did: took a new id, merged into the id's entry, or refused a new id (bound reached). */
export type UpsertResult = 'added' | 'updated' | 'full';

/** Options of a {@link DigestTable}. */
export interface DigestTableOptions {
  /** Most entries the table will hold, a positive integer up to 2^29; the arrays grow towards it, never beyond. */
  maxEntries: number;
  /** Whether each entry carries a number (a subject's watermark); without it {@link DigestTable.get} throws. */
  withValues?: boolean;
  /** The two 32-bit seeds of the digest; default: 8 bytes of `crypto.randomBytes`, drawn per table. For tests. */
  seeds?: readonly [number, number];
  /** Replaces the digest altogether, so that a test can force collisions; default: {@link digestString}. */
  digest?: DigestFunction;
}

/** Slots of a new table; the arrays double from here. */
const INITIAL_CAPACITY = 16;
/** Largest expiry a slot holds, in seconds on the table user's monotonic origin (Uint32). */
export const MAX_EXPIRY_SECONDS = 0xffff_ffff;
const MAX_ENTRIES_LIMIT = 2 ** 29;
/**
 * A module binding, not a global lookup per call: in a `vm` context (Jest's
 * test environment) every read of the global `Math` goes through the context's
 * interceptor, which made the digest 40 times slower there.
 */
const imul = Math.imul;

/**
 * The default digest: a cyrb53-style string hash widened to two full 32-bit
 * lanes (each lane multiplies every UTF-16 code unit in with `Math.imul`, then
 * the lanes are cross-mixed), each lane seeded separately. Not cryptographic:
 * fast (two multiplications per character), and with a secret per-process seed
 * nobody can compute in advance which ids collide.
 *
 * @param id the string to hash
 * @param seedHi seed of the high lane (32 bits)
 * @param seedLo seed of the low lane (32 bits)
 * @param out receives `[hi, lo]` as signed 32-bit integers (the bits are what counts)
 */
export function digestString(id: string, seedHi: number, seedLo: number, out: Int32Array): void {
  let h1 = 0xdeadbeef ^ seedLo;
  let h2 = 0x41c6ce57 ^ seedHi;
  for (let i = 0; i < id.length; i++) {
    const ch = id.charCodeAt(i);
    h1 = imul(h1 ^ ch, 2654435761);
    h2 = imul(h2 ^ ch, 1597334677);
  }
  h1 = imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= imul(h1 ^ (h1 >>> 13), 3266489909);
  out[0] = h2;
  out[1] = h1;
}

/**
 * A set (or map to one number) of string ids that stores a 64-bit digest of
 * each id instead of the id: an open-addressing hash table with linear
 * probing in typed arrays: 12 bytes per slot (20 with values), at a load
 * factor between 0.25 and 0.5 once grown, so 24 to 48 bytes per entry (40 to
 * 80 with values; 25.2 at exactly a million), where a `Map<string, number>`
 * with 36-character ids took 85 bytes of heap and 126 of RSS per entry. Each
 * entry has an expiry, in whole seconds on whatever monotonic origin the
 * caller uses; {@link prune} drops the expired ones.
 *
 * Why a digest is enough for a revocation list: two ids with the same digest
 * are one entry. Then a lookup of an id that was never added can answer
 * "present" (a live token refused: at 1e6 entries a chance of about 5e-14 per
 * lookup, n / 2^64), but a lookup of an id that was added always finds it, and merged
 * entries keep the later expiry and the higher value, so a collision can only
 * refuse a token, never accept a revoked one. The ids (`jti`, `sid`, `sub`)
 * are chosen by the issuer (random UUIDs, account ids), not by whoever
 * presents a token: a token's claims are looked up only once its signature
 * holds, and the entries come from the issuer's writes. And the seed is random
 * per table and process, so even someone who could pick ids cannot know which
 * ones collide or pile into one probe run.
 *
 * Deletion shifts the following entries back (no tombstones), so a lookup
 * stays short however many entries came and went. The digest `0:0` marks an
 * empty slot; a real `0:0` digest is stored as `0:1` (one more collision of
 * the kind described above).
 */
export class DigestTable {
  /** Bound on {@link size}, as given. */
  readonly maxEntries: number;
  private readonly maxCapacity: number;
  private readonly seedHi: number;
  private readonly seedLo: number;
  private readonly customDigest: DigestFunction | null;
  private readonly scratch = new Int32Array(2);
  private mask: number;
  /**
   * Slot i: digest high lane at 2i, low lane at 2i+1 (one cache line for a
   * probe); 0:0 = empty. Signed, as `Math.imul` yields them: a read compares
   * as an int32, with no conversion on the lookup path.
   */
  private digests: Int32Array;
  /** Slot i: expiry in whole seconds (caller's monotonic origin). */
  private expiries: Uint32Array;
  /** Slot i: the entry's value, when the table has values. */
  private values: Float64Array | null;
  private count = 0;
  /** Next slot {@link prune} examines. */
  private cursor = 0;

  /**
   * @param options the bound, whether entries carry values, and (for tests) the seeds or the digest
   * @throws RangeError when `maxEntries` is not an integer from 1 to 2^29
   */
  constructor(options: DigestTableOptions) {
    const { maxEntries, withValues = false, seeds, digest } = options;
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > MAX_ENTRIES_LIMIT) {
      throw new RangeError(`maxEntries is an integer from 1 to ${MAX_ENTRIES_LIMIT}`);
    }
    this.maxEntries = maxEntries;
    let maxCapacity = INITIAL_CAPACITY;
    while (maxCapacity < 2 * maxEntries) maxCapacity *= 2;
    this.maxCapacity = maxCapacity;
    const seedWords = seeds ?? readSeeds();
    this.seedHi = seedWords[0] | 0;
    this.seedLo = seedWords[1] | 0;
    this.customDigest = digest ?? null;
    this.mask = INITIAL_CAPACITY - 1;
    this.digests = new Int32Array(2 * INITIAL_CAPACITY);
    this.expiries = new Uint32Array(INITIAL_CAPACITY);
    this.values = withValues ? new Float64Array(INITIAL_CAPACITY) : null;
  }

  /** Entries held. */
  get size(): number {
    return this.count;
  }

  /** Slots allocated (a power of two; at most half of them in use). */
  get capacity(): number {
    return this.mask + 1;
  }

  /** Bytes allocated by the table's arrays (the digests, the expiries, the values). */
  bytes(): number {
    return this.digests.byteLength + this.expiries.byteLength + (this.values?.byteLength ?? 0);
  }

  /**
   * @param id any string
   * @returns whether an entry with the id's digest is held (expired entries not yet pruned included)
   */
  has(id: string): boolean {
    return this.find(id) >= 0;
  }

  /**
   * @param id any string
   * @returns the value of the id's entry, or undefined when there is none
   * @throws TypeError when the table has no values
   */
  get(id: string): number | undefined {
    const values = this.values;
    if (values === null) throw new TypeError('this table holds no values');
    const slot = this.find(id);
    return slot < 0 ? undefined : values[slot];
  }

  /**
   * Adds an entry, or merges into the one already held for the id's digest:
   * the later expiry and the higher value win, so applying the same entries
   * in any order gives the same table.
   *
   * @param id any string
   * @param expirySeconds when the entry may be dropped: whole seconds on the caller's monotonic origin, 0 to 2^32 − 1
   * @param value the entry's number (e.g. a watermark); required in a table with values, refused in one without
   * @returns `added`, `updated`, or `full` when the id is new and {@link maxEntries} are held (nothing changed)
   * @throws RangeError when the expiry is not such an integer or the value is not a finite number;
   *   TypeError when a value is given to a table without values or missing in one with values
   */
  upsert(id: string, expirySeconds: number, value?: number): UpsertResult {
    if (!Number.isInteger(expirySeconds) || expirySeconds < 0 || expirySeconds > MAX_EXPIRY_SECONDS) {
      throw new RangeError(`expirySeconds is an integer from 0 to ${MAX_EXPIRY_SECONDS}`);
    }
    if ((value === undefined) !== (this.values === null)) {
      throw new TypeError(this.values === null ? 'this table holds no values' : 'a value is required');
    }
    // NaN would make every comparison with the value false: a revoked token accepted.
    if (value !== undefined && !Number.isFinite(value)) throw new RangeError('value is a finite number');
    this.digestOf(id);
    const hi = this.scratch[0];
    const lo = this.scratch[1];
    let slot = this.probe(hi, lo);
    const digests = this.digests;
    if (digests[2 * slot] === hi && digests[2 * slot + 1] === lo) {
      if (expirySeconds > this.expiries[slot]) this.expiries[slot] = expirySeconds;
      const values = this.values;
      if (values !== null && (value as number) > values[slot]) values[slot] = value as number;
      return 'updated';
    }
    if (this.count >= this.maxEntries) return 'full';
    if (2 * (this.count + 1) > this.capacity && this.capacity < this.maxCapacity) {
      this.grow();
      slot = this.probe(hi, lo);
    }
    this.digests[2 * slot] = hi;
    this.digests[2 * slot + 1] = lo;
    this.expiries[slot] = expirySeconds;
    if (this.values !== null) this.values[slot] = value as number;
    this.count++;
    return 'added';
  }

  /**
   * Drops the entries whose expiry is at or before `nowSeconds`, in place, in
   * slices: a cursor goes round the slots, and a call takes it at most once
   * round, or `maxSteps` steps (a step examines one slot; a slot is examined
   * again after its entry is dropped, as the backward shift may have moved an
   * entry not yet examined into it), and the next call goes on from there.
   * At a million entries a whole round takes some 15 to 40 ms, hence the
   * slices. An entry added behind the cursor waits for the next round.
   *
   * @param nowSeconds whole seconds on the same origin as the expiries
   * @param maxSteps most steps in this call; default: once round, so every expired entry is dropped
   * @returns how many entries were dropped
   */
  prune(nowSeconds: number, maxSteps = Number.POSITIVE_INFINITY): number {
    const digests = this.digests;
    const expiries = this.expiries;
    const mask = this.mask;
    const before = this.count;
    let slot = this.cursor;
    // Entries only ever move back, and never behind the cursor: one round from anywhere examines each of them.
    for (let steps = 0, left = mask + 1; left > 0 && steps < maxSteps; steps++) {
      if ((digests[2 * slot] !== 0 || digests[2 * slot + 1] !== 0) && expiries[slot] <= nowSeconds) {
        this.removeAt(slot);
      } else {
        slot = (slot + 1) & mask;
        left--;
      }
    }
    this.cursor = slot;
    return before - this.count;
  }

  /** Writes the id's digest into `scratch`, `0:0` remapped to `0:1` (the empty marker). */
  private digestOf(id: string): void {
    const out = this.scratch;
    if (this.customDigest === null) digestString(id, this.seedHi, this.seedLo, out);
    else this.customDigest(id, out);
    if (out[0] === 0 && out[1] === 0) out[1] = 1;
  }

  /** @returns the slot holding the id's digest, or -1 */
  private find(id: string): number {
    this.digestOf(id);
    const hi = this.scratch[0];
    const lo = this.scratch[1];
    const digests = this.digests;
    const mask = this.mask;
    for (let slot = lo & mask; ; slot = (slot + 1) & mask) {
      const h = digests[2 * slot];
      const l = digests[2 * slot + 1];
      if (h === hi && l === lo) return slot;
      if (h === 0 && l === 0) return -1;
    }
  }

  /**
   * @returns the slot holding the digest, or else the empty slot where it belongs
   *   (there is always one: the load factor stays at or below 0.5)
   */
  private probe(hi: number, lo: number): number {
    const digests = this.digests;
    const mask = this.mask;
    for (let slot = lo & mask; ; slot = (slot + 1) & mask) {
      const h = digests[2 * slot];
      const l = digests[2 * slot + 1];
      if ((h === hi && l === lo) || (h === 0 && l === 0)) return slot;
    }
  }

  /**
   * Empties a slot and shifts back the entries after it in its run that
   * would otherwise no longer be found from their home slot.
   */
  private removeAt(slot: number): void {
    const digests = this.digests;
    const expiries = this.expiries;
    const values = this.values;
    const mask = this.mask;
    let hole = slot;
    for (let next = (hole + 1) & mask; ; next = (next + 1) & mask) {
      const h = digests[2 * next];
      const l = digests[2 * next + 1];
      if (h === 0 && l === 0) break;
      const home = l & mask;
      // The entry at `next` stays when its home lies cyclically in (hole, next]: the hole is not on its probe path.
      const stays = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (stays) continue;
      digests[2 * hole] = h;
      digests[2 * hole + 1] = l;
      expiries[hole] = expiries[next];
      if (values !== null) values[hole] = values[next];
      hole = next;
    }
    digests[2 * hole] = 0;
    digests[2 * hole + 1] = 0;
    expiries[hole] = 0;
    if (values !== null) values[hole] = 0;
    this.count--;
  }

  /** Doubles the arrays and re-inserts every entry. */
  private grow(): void {
    const oldDigests = this.digests;
    const oldExpiries = this.expiries;
    const oldValues = this.values;
    const capacity = 2 * this.capacity;
    const mask = capacity - 1;
    const digests = new Int32Array(2 * capacity);
    const expiries = new Uint32Array(capacity);
    const values = oldValues === null ? null : new Float64Array(capacity);
    for (let old = 0; old < oldExpiries.length; old++) {
      const hi = oldDigests[2 * old];
      const lo = oldDigests[2 * old + 1];
      if (hi === 0 && lo === 0) continue;
      let slot = lo & mask;
      while (digests[2 * slot] !== 0 || digests[2 * slot + 1] !== 0) slot = (slot + 1) & mask;
      digests[2 * slot] = hi;
      digests[2 * slot + 1] = lo;
      expiries[slot] = oldExpiries[old];
      if (values !== null) values[slot] = (oldValues as Float64Array)[old];
    }
    this.digests = digests;
    this.expiries = expiries;
    this.values = values;
    this.mask = mask;
    this.cursor = 0;
  }
}

function readSeeds(): [number, number] {
  const bytes = randomBytes(8);
  return [bytes.readInt32LE(0), bytes.readInt32LE(4)];
}
