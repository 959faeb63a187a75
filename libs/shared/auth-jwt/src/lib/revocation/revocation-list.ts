import { parseRevocationKey, parseWatermark, type RevocationAnnouncement } from '@jwt-ms/contracts';
import type { RevocableToken, RevocationReason } from './revocation';

/** Longest lifetime kept for any entry, in milliseconds: beyond the longest access token anyone would issue. */
export const MAX_ENTRY_TTL_MS = 24 * 3600 * 1000;
/** How far in the future a watermark may lie, in seconds (clock skew between the issuer's hosts). */
export const MAX_WATERMARK_LEAD_SECONDS = 300;

/** The clocks a {@link RevocationList} reads; both injectable so that a test can freeze them. */
export interface RevocationListClocks {
  /** Monotonic milliseconds, for expiry: a wall-clock step can neither extend nor cut short an entry's life. */
  monotonicMs: () => number;
  /** Wall-clock milliseconds since the epoch, to compare watermarks (NumericDates) with. */
  wallMs: () => number;
}

interface Watermark {
  /** Tokens of sessions that began before this instant are revoked; seconds since the epoch (fractional). */
  notBefore: number;
  /** When the entry may be forgotten, on the monotonic clock (ms). */
  forgetAt: number;
}

const SYSTEM_CLOCKS: RevocationListClocks = { monotonicMs: () => performance.now(), wallMs: () => Date.now() };

/**
 * The in-memory revocation list: three maps (token `jti`, session `sid`,
 * subject watermark by `sub`), each entry kept until it expires in Redis.
 * Checking a token is three map lookups, O(1), no I/O. No Redis, no policy:
 * what feeds it is {@link RevocationSync}, whether to trust it is
 * {@link RevocationFreshness}.
 *
 * Entries are only ever merged (a later expiry wins, a watermark only rises)
 * and removed when they expire: nothing can remove an entry early.
 */
export class RevocationList {
  /** `jti` → when the entry may be forgotten (monotonic ms). */
  private readonly tokens = new Map<string, number>();
  /** `sid` → when the entry may be forgotten (monotonic ms). */
  private readonly sessions = new Map<string, number>();
  /** `sub` → watermark. */
  private readonly watermarks = new Map<string, Watermark>();

  constructor(private readonly clocks: RevocationListClocks = SYSTEM_CLOCKS) {}

  /**
   * Checks a token against the list: its `jti`, its session (`sid`), and its
   * subject's watermark against `auth_time`. Expired entries that a
   * {@link prune} has not yet dropped still count: they are kept as long as
   * Redis keeps them, which outlives every token they cover.
   *
   * @param token the token's `jti`, `sid`, `sub` and `auth_time` (seconds since the epoch)
   * @returns why the token is revoked, or null
   */
  check(token: RevocableToken): RevocationReason {
    if (this.tokens.has(token.jti)) return 'token revoked';
    if (this.sessions.has(token.sid)) return 'session revoked';
    const watermark = this.watermarks.get(token.sub);
    if (watermark !== undefined && token.authTime < watermark.notBefore) return 'all tokens of the subject revoked';
    return null;
  }

  /**
   * Adds one entry as written to Redis (an announcement, a full read, or this
   * process's own write). Keys outside the layout (`parseRevocationKey`),
   * lifetimes that are not positive, and watermarks that are not numbers or
   * lie more than {@link MAX_WATERMARK_LEAD_SECONDS} in the future are
   * ignored; lifetimes are capped at {@link MAX_ENTRY_TTL_MS}.
   *
   * @param entry the Redis key, its value, and its remaining lifetime in milliseconds (-1 from a full read: no expiry)
   * @returns whether the entry was taken
   */
  apply(entry: RevocationAnnouncement): boolean {
    if (!(entry.ttlMs === -1 || (Number.isFinite(entry.ttlMs) && entry.ttlMs > 0))) return false;
    const forgetAt =
      this.clocks.monotonicMs() + (entry.ttlMs === -1 ? MAX_ENTRY_TTL_MS : Math.min(entry.ttlMs, MAX_ENTRY_TTL_MS));
    const key = parseRevocationKey(entry.key);
    if (key === null) return false;
    switch (key.kind) {
      case 'token':
        keepLatest(this.tokens, key.id, forgetAt);
        return true;
      case 'session':
        keepLatest(this.sessions, key.id, forgetAt);
        return true;
      case 'subject': {
        const notBefore = parseWatermark(entry.value);
        if (notBefore === null || notBefore > this.clocks.wallMs() / 1000 + MAX_WATERMARK_LEAD_SECONDS) return false;
        const current = this.watermarks.get(key.id);
        this.watermarks.set(key.id, {
          notBefore: Math.max(notBefore, current?.notBefore ?? notBefore),
          forgetAt: Math.max(forgetAt, current?.forgetAt ?? forgetAt),
        });
        return true;
      }
    }
  }

  /** Drops every entry whose lifetime has ended (monotonic clock). */
  prune(): void {
    const now = this.clocks.monotonicMs();
    for (const map of [this.tokens, this.sessions]) {
      for (const [id, forgetAt] of map) if (forgetAt <= now) map.delete(id);
    }
    for (const [subject, watermark] of this.watermarks) if (watermark.forgetAt <= now) this.watermarks.delete(subject);
  }

  /** Entries held: tokens, sessions and subject watermarks. */
  size(): number {
    return this.tokens.size + this.sessions.size + this.watermarks.size;
  }
}

function keepLatest(map: Map<string, number>, id: string, forgetAt: number): void {
  const current = map.get(id);
  if (current === undefined || forgetAt > current) map.set(id, forgetAt);
}
