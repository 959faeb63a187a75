import { MAX_REVOCATION_ID_LENGTH, type RevocationEntry } from '@jwt-ms/contracts';
import { DigestTable, MAX_EXPIRY_SECONDS, type UpsertResult } from './digest-table';
import type { RevocableToken, RevocationReason } from './revocation';

/** Longest lifetime kept for any entry, in milliseconds: beyond the longest access token anyone would issue. */
export const MAX_ENTRY_TTL_MS = 24 * 3600 * 1000;
/**
 * How far in the future a watermark counts, in seconds (clock skew between the issuer's hosts): one further ahead is
 * held at this lead, not dropped. Dropping it would drop every later revocation of the subject too, since the
 * issuer's merge keeps the larger watermark; holding it there refuses the subject's tokens a little longer at worst.
 */
export const MAX_WATERMARK_LEAD_SECONDS = 300;

/** The clocks a {@link RevocationList} reads; both injectable so that a test can freeze them. */
export interface RevocationListClocks {
  /** Monotonic milliseconds, for expiry: a wall-clock step can neither extend nor cut short an entry's life. */
  monotonicMs: () => number;
  /** Wall-clock milliseconds since the epoch, to compare expiries and watermarks (NumericDates) with. */
  wallMs: () => number;
}

/**
 * Steps (slots examined) {@link RevocationList.prune} takes per table and
 * call: about 2 ms at a million entries, where a whole round of a table took
 * 17 to 36 ms (on a busy 2-core machine).
 */
export const PRUNE_SLICE_STEPS = 1 << 18;

/** Options of a {@link RevocationList}. */
export interface RevocationListOptions {
  /** Most entries held, tokens, sessions and subjects together: a positive integer up to 2^29. */
  maxEntries: number;
  /** Default: `performance.now()` and `Date.now()`. */
  clocks?: RevocationListClocks;
}

/** What {@link RevocationList.add} did with an entry. */
export type RevocationAddResult = UpsertResult | 'ignored';

const SYSTEM_CLOCKS: RevocationListClocks = { monotonicMs: () => performance.now(), wallMs: () => Date.now() };

/**
 * The in-memory revocation list: three {@link DigestTable}s (token `jti`,
 * session `sid`, subject watermark by `sub`), each entry kept until it
 * expires in Redis. Checking a token is three table lookups, O(1), no I/O,
 * and an entry costs 24 to 48 bytes (40 to 80 for a subject; see
 * {@link bytes}), so a replica holds a million in some 25 MB. No Redis, no policy: what feeds it is {@link RevocationSync},
 * whether to trust it is {@link RevocationFreshness}.
 *
 * Entries are only ever merged (a later expiry wins, a watermark only rises)
 * and removed when they expire: nothing can remove an entry early. The tables
 * hold digests, not ids: a digest collision can only refuse a token, never
 * accept a revoked one (see {@link DigestTable}).
 *
 * Expiries are kept in whole seconds on the monotonic clock, rounded up: an
 * entry is never dropped before its lifetime has ended, and may be dropped
 * less than a second after; the slices of {@link prune} reach it within a
 * round of its table.
 */
export class RevocationList {
  /** Bound on {@link size}, as given. */
  readonly maxEntries: number;
  private readonly clocks: RevocationListClocks;
  /** Monotonic milliseconds at construction: second 0 of the tables' expiries. */
  private readonly originMs: number;
  private readonly tokens: DigestTable;
  private readonly sessions: DigestTable;
  /** Values: the watermark (`notBefore`), seconds since the epoch. */
  private readonly watermarks: DigestTable;

  /**
   * @param options the bound on the entries held, and the clocks
   * @throws RangeError when `maxEntries` is not an integer from 1 to 2^29
   */
  constructor(options: RevocationListOptions) {
    this.maxEntries = options.maxEntries;
    this.clocks = options.clocks ?? SYSTEM_CLOCKS;
    // Each table may hold all the entries; the total is bounded in add().
    this.tokens = new DigestTable({ maxEntries: options.maxEntries });
    this.sessions = new DigestTable({ maxEntries: options.maxEntries });
    this.watermarks = new DigestTable({ maxEntries: options.maxEntries, withValues: true });
    this.originMs = this.clocks.monotonicMs();
  }

  /**
   * Checks a token against the list: its `jti`, its session (`sid`, when it
   * has one), and its subject's watermark against `authTime`. Expired entries that a
   * {@link prune} has not yet dropped still count: they are kept as long as
   * Redis keeps them, which outlives every token they cover.
   *
   * @param token the token's `jti`, `sid` (undefined for a service token), `sub` and `authTime` (`auth_time`, or a
   *   service token's `iat`; seconds since the epoch)
   * @returns why the token is revoked, or null
   */
  check(token: RevocableToken): RevocationReason {
    if (this.tokens.has(token.jti)) return 'token revoked';
    if (token.sid !== undefined && this.sessions.has(token.sid)) return 'session revoked';
    const notBefore = this.watermarks.get(token.sub);
    if (notBefore !== undefined && token.authTime < notBefore) return 'all tokens of the subject revoked';
    return null;
  }

  /**
   * Adds one entry as stored in Redis (from the log, a full read, or this
   * process's own write), merging with what is held for its id. The entry is
   * kept until `expiresAtMs`, measured from now on the monotonic clock
   * (`forgetAt = monotonic now + (expiresAtMs − wall now)`), and at most
   * {@link MAX_ENTRY_TTL_MS}.
   *
   * @param entry the entry; `expiresAtMs` in milliseconds since the epoch, a subject's `notBefore` in seconds
   * @returns `added`, `updated` (merged into the entry held for the id), `ignored` (already expired by the wall
   *   clock, an id of no token, an unknown kind, or a watermark that is not a non-negative number; one more than
   *   {@link MAX_WATERMARK_LEAD_SECONDS} in the future is held at that lead), or `full`: a new id while {@link maxEntries} are
   *   held, nothing changed. The list then no longer holds everything Redis does, and a token revoked by the
   *   refused entry would pass {@link check}: the caller must stop trusting the list (fail closed)
   */
  add(entry: RevocationEntry): RevocationAddResult {
    const wallNow = this.clocks.wallMs();
    const { id, expiresAtMs } = entry;
    if (!(expiresAtMs > wallNow) || typeof id !== 'string' || id.length === 0 || id.length > MAX_REVOCATION_ID_LENGTH) {
      return 'ignored';
    }
    const lifetimeMs = Math.min(expiresAtMs - wallNow, MAX_ENTRY_TTL_MS);
    const forgetAtMs = this.clocks.monotonicMs() + lifetimeMs;
    const expirySeconds = Math.min(Math.max(Math.ceil((forgetAtMs - this.originMs) / 1000), 0), MAX_EXPIRY_SECONDS);
    let table: DigestTable;
    let value: number | undefined;
    switch (entry.kind) {
      case 'token':
        table = this.tokens;
        break;
      case 'session':
        table = this.sessions;
        break;
      case 'subject':
        if (!(Number.isFinite(entry.notBefore) && entry.notBefore >= 0)) return 'ignored';
        table = this.watermarks;
        value = Math.min(entry.notBefore, wallNow / 1000 + MAX_WATERMARK_LEAD_SECONDS);
        break;
      default:
        return 'ignored';
    }
    if (this.size() >= this.maxEntries && !table.has(id)) return 'full';
    return table.upsert(id, expirySeconds, value);
  }

  /**
   * Drops entries whose lifetime has ended (monotonic clock), a bounded slice
   * of each table per call (see {@link DigestTable.prune}): a call costs a few
   * milliseconds at most, and a table of 2^21 slots (a million entries) is
   * gone through in slices of {@link PRUNE_SLICE_STEPS} steps: 8 calls, and
   * one more per 2^18 entries dropped (a dropped slot is examined again).
   * Entries kept past their lifetime only take room (and count towards
   * {@link maxEntries}): they have expired in Redis too, and no token they cover
   * is still valid.
   *
   * @param stepsPerTable slots to examine in each table; default {@link PRUNE_SLICE_STEPS};
   *   `Infinity` goes through every table once
   * @returns how many entries were dropped
   */
  prune(stepsPerTable = PRUNE_SLICE_STEPS): number {
    const nowSeconds = Math.max(Math.floor((this.clocks.monotonicMs() - this.originMs) / 1000), 0);
    return (
      this.tokens.prune(nowSeconds, stepsPerTable) +
      this.sessions.prune(nowSeconds, stepsPerTable) +
      this.watermarks.prune(nowSeconds, stepsPerTable)
    );
  }

  /** Entries held: tokens, sessions and subject watermarks. */
  size(): number {
    return this.tokens.size + this.sessions.size + this.watermarks.size;
  }

  /** Bytes allocated by the three tables' arrays (about 25 per token or session entry at a million). */
  bytes(): number {
    return this.tokens.bytes() + this.sessions.bytes() + this.watermarks.bytes();
  }
}
