import { MAX_REVOCATION_ID_LENGTH, type RevocationEntry } from '@jwt-ms/contracts';
import type { RevocableToken } from './revocation';
import { MAX_ENTRY_TTL_MS, MAX_WATERMARK_LEAD_SECONDS, PRUNE_SLICE_STEPS, RevocationList } from './revocation-list';

/** Wall clock of these tests: 2023-11-14T22:13:20Z, in milliseconds. */
const WALL_MS = 1_700_000_000_000;
const WALL_SECONDS = WALL_MS / 1000;

describe('RevocationList (in memory, frozen clocks)', () => {
  let monotonic = 0;
  let wall = WALL_MS;
  let list: RevocationList;
  const clocks = { monotonicMs: () => monotonic, wallMs: () => wall };
  const token = (overrides: Partial<RevocableToken> = {}): RevocableToken => ({
    jti: 'jti-1',
    sid: 'sid-1',
    sub: 'sub-1',
    authTime: WALL_SECONDS - 60,
    ...overrides,
  });
  /** An entry expiring `lifetimeMs` from the wall clock's now. */
  const entry = (kind: 'token' | 'session', id: string, lifetimeMs: number): RevocationEntry => ({
    kind,
    id,
    expiresAtMs: wall + lifetimeMs,
  });
  const watermark = (id: string, notBefore: number, lifetimeMs: number): RevocationEntry => ({
    kind: 'subject',
    id,
    expiresAtMs: wall + lifetimeMs,
    notBefore,
  });

  beforeEach(() => {
    monotonic = 1_000;
    wall = WALL_MS;
    list = new RevocationList({ maxEntries: 100, clocks });
  });

  it('revokes by jti, by sid, and by subject watermark against auth_time, each only for what it names', () => {
    expect(list.add(entry('token', 'jti-1', 1000))).toBe('added');
    expect(list.add(entry('session', 'sid-2', 1000))).toBe('added');
    expect(list.add(watermark('sub-3', WALL_SECONDS, 1000))).toBe('added');

    expect(list.check(token())).toBe('token revoked');
    expect(list.check(token({ jti: 'other', sid: 'sid-2' }))).toBe('session revoked');
    expect(list.check(token({ jti: 'other', sub: 'sub-3' }))).toBe('all tokens of the subject revoked');
    // A session that began at or after the watermark is not covered.
    expect(list.check(token({ jti: 'other', sub: 'sub-3', authTime: WALL_SECONDS }))).toBeNull();
    expect(list.check(token({ jti: 'other' }))).toBeNull();
    // Each kind in its own table: a jti that happens to equal a revoked sid is not revoked.
    expect(list.check(token({ jti: 'sid-2', sid: 'jti-1', sub: 'jti-1' }))).toBeNull();
    expect(list.size()).toBe(3);
  });

  it('forgets an entry once its lifetime has ended on the monotonic clock, never before, within a second', () => {
    monotonic += 250; // not on a whole second of the list's origin: the expiry rounds up
    list.add(entry('token', 'jti-1', 5000));
    wall += 3 * 3600 * 1000; // a wall-clock step changes nothing
    monotonic += 4999;
    expect(list.prune(Number.POSITIVE_INFINITY)).toBe(0);
    expect(list.check(token())).toBe('token revoked');
    monotonic += 1;
    list.prune(Number.POSITIVE_INFINITY);
    expect(list.size()).toBe(1); // kept up to a second late: the table counts whole seconds
    monotonic += 999;
    expect(list.prune(Number.POSITIVE_INFINITY)).toBe(1);
    expect(list.check(token())).toBeNull();
    expect(list.size()).toBe(0);
  });

  it('still refuses with an expired entry that no prune has dropped yet', () => {
    list.add(entry('session', 'sid-1', 1000));
    monotonic += 60_000;
    expect(list.check(token())).toBe('session revoked');
  });

  it('keeps the later expiry and the higher watermark, whatever order entries arrive in', () => {
    expect(list.add(entry('token', 'jti-1', 9000))).toBe('added');
    expect(list.add(entry('token', 'jti-1', 1000))).toBe('updated'); // an older, shorter copy
    expect(list.add(watermark('sub-1', WALL_SECONDS - 10, 9000))).toBe('added');
    expect(list.add(watermark('sub-1', WALL_SECONDS - 100, 1000))).toBe('updated'); // a slower, older request
    monotonic += 5000;
    list.prune(Number.POSITIVE_INFINITY);

    expect(list.check(token())).toBe('token revoked');
    expect(list.check(token({ jti: 'other', authTime: WALL_SECONDS - 50 }))).toBe('all tokens of the subject revoked');
    expect(list.size()).toBe(2);
  });

  it('caps every lifetime at 24 h', () => {
    list.add(entry('token', 'week', 7 * MAX_ENTRY_TTL_MS));
    list.add(entry('session', 'year', 365 * MAX_ENTRY_TTL_MS));
    monotonic += MAX_ENTRY_TTL_MS - 1;
    list.prune(Number.POSITIVE_INFINITY);
    expect(list.size()).toBe(2);
    monotonic += 1000;
    list.prune(Number.POSITIVE_INFINITY);
    expect(list.size()).toBe(0);
  });

  it.each<[string, RevocationEntry]>([
    ['an entry that expired by the wall clock', { kind: 'token', id: 'jti-1', expiresAtMs: WALL_MS - 1 }],
    ['an entry that expires now', { kind: 'token', id: 'jti-1', expiresAtMs: WALL_MS }],
    ['an expiry that is not a number', { kind: 'session', id: 'sid-1', expiresAtMs: Number.NaN }],
    ['an empty id', { kind: 'token', id: '', expiresAtMs: WALL_MS + 1000 }],
    [
      'an id no token has',
      { kind: 'token', id: 'x'.repeat(MAX_REVOCATION_ID_LENGTH + 1), expiresAtMs: WALL_MS + 1000 },
    ],
    ['an unknown kind', { kind: 'tenant', id: 'jti-1', expiresAtMs: WALL_MS + 1000 } as unknown as RevocationEntry],
    ['a watermark that is not a number', { kind: 'subject', id: 'sub-1', expiresAtMs: WALL_MS + 1000, notBefore: NaN }],
    ['a negative watermark', { kind: 'subject', id: 'sub-1', expiresAtMs: WALL_MS + 1000, notBefore: -5 }],
  ])('ignores %s', (_, ignored) => {
    expect(list.add(ignored)).toBe('ignored');
    expect(list.size()).toBe(0);
    expect(list.check(token({ authTime: 0 }))).toBeNull();
  });

  it('holds a watermark far in the future at the lead: neither a user locked out for good nor later revocations lost', () => {
    // Written by an issuer whose clock was ahead; the issuer's merge keeps the larger watermark from then on.
    const ahead = WALL_SECONDS + MAX_WATERMARK_LEAD_SECONDS + 3600;
    expect(list.add(watermark('sub-1', ahead, 1000))).toBe('added');
    expect(list.check(token({ authTime: WALL_SECONDS + MAX_WATERMARK_LEAD_SECONDS - 1 }))).toBe(
      'all tokens of the subject revoked',
    );
    expect(list.check(token({ authTime: WALL_SECONDS + MAX_WATERMARK_LEAD_SECONDS + 1 }))).toBeNull();
  });

  it('accepts a watermark a little in the future (clock skew between the issuer hosts) and an id of the longest length', () => {
    expect(list.add(watermark('sub-1', WALL_SECONDS + MAX_WATERMARK_LEAD_SECONDS, 1000))).toBe('added');
    expect(list.check(token())).toBe('all tokens of the subject revoked');
    const longest = 'x'.repeat(MAX_REVOCATION_ID_LENGTH);
    expect(list.add(entry('token', longest, 1000))).toBe('added');
    expect(list.check(token({ jti: longest, sub: 'other' }))).toBe('token revoked');
  });

  it('holds at most maxEntries over the three tables: a new id is refused, held ones still merge', () => {
    list = new RevocationList({ maxEntries: 3, clocks });
    expect(list.maxEntries).toBe(3);
    expect(list.add(entry('token', 'jti-1', 1000))).toBe('added');
    expect(list.add(entry('session', 'sid-1', 9000))).toBe('added');
    expect(list.add(watermark('sub-1', WALL_SECONDS - 100, 9000))).toBe('added');
    expect(list.add(entry('token', 'jti-2', 9000))).toBe('full');
    expect(list.add(watermark('sub-2', WALL_SECONDS, 9000))).toBe('full');
    expect(list.add(watermark('sub-1', WALL_SECONDS, 9000))).toBe('updated');
    expect(list.add(entry('session', 'sid-1', 20_000))).toBe('updated');
    expect(list.check(token({ jti: 'jti-2', sid: 'other', authTime: WALL_SECONDS - 50 }))).toBe(
      'all tokens of the subject revoked',
    );
    expect(list.size()).toBe(3);
    monotonic += 1000;
    list.prune(Number.POSITIVE_INFINITY); // jti-1 expires: room for one more
    expect(list.add(entry('token', 'jti-2', 9000))).toBe('added');
    expect(list.size()).toBe(3);
  });

  it('allocates as entries arrive, not maxEntries up front', () => {
    const large = new RevocationList({ maxEntries: 1_000_000, clocks });
    const empty = large.bytes();
    expect(empty).toBeLessThan(1024); // three tables of 16 slots: 12, 12 and 20 bytes a slot
    for (let i = 0; i < 1000; i++) large.add(entry('token', `jti-${i}`, 1000));
    // 1000 entries: 2048 slots of 12 bytes in the token table (a load factor between 0.25 and 0.5).
    expect(large.bytes() - empty).toBe(2048 * 12 - 16 * 12);
    expect(() => new RevocationList({ maxEntries: 0, clocks })).toThrow(RangeError);
  });

  it('prunes a bounded slice of each table per call, continuing where it stopped', () => {
    for (let i = 0; i < 40; i++) list.add(entry('token', `jti-${i}`, 1000)); // 128 slots
    monotonic += 1000;
    let calls = 0;
    let dropped = 0;
    while (list.size() > 0) {
      dropped += list.prune(16);
      calls++;
      // Once round the 128 slots, plus a step to examine each slot again after a drop.
      expect(calls).toBeLessThanOrEqual(Math.ceil((128 + 40) / 16));
    }
    expect(dropped).toBe(40);
    expect(calls).toBeGreaterThan(2); // not in one call
    expect(PRUNE_SLICE_STEPS).toBeGreaterThanOrEqual(1 << 16);
    // The default slice covers a small table whole.
    list.add(entry('token', 'jti-1', 1000));
    monotonic += 1000;
    expect(list.prune()).toBe(1);
  });
});
