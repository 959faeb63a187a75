import {
  REDIS_KEY_PREFIX,
  REVOKED_VALUE,
  formatWatermark,
  revokedJtiKey,
  revokedSessionKey,
  subjectNotBeforeKey,
} from '@jwt-ms/contracts';
import type { RevocableToken } from './revocation';
import { MAX_ENTRY_TTL_MS, MAX_WATERMARK_LEAD_SECONDS, RevocationList } from './revocation-list';

/** Wall clock of these tests: 2023-11-14T22:13:20Z, in milliseconds. */
const WALL_MS = 1_700_000_000_000;

describe('RevocationList (in memory, frozen clocks)', () => {
  let monotonic = 0;
  let list: RevocationList;
  const token = (overrides: Partial<RevocableToken> = {}): RevocableToken => ({
    jti: 'jti-1',
    sid: 'sid-1',
    sub: 'sub-1',
    authTime: WALL_MS / 1000 - 60,
    ...overrides,
  });

  beforeEach(() => {
    monotonic = 1_000;
    list = new RevocationList({ monotonicMs: () => monotonic, wallMs: () => WALL_MS });
  });

  it('revokes by jti, by sid, and by subject watermark against auth_time, each only for what it names', () => {
    expect(list.apply({ key: revokedJtiKey('jti-1'), value: REVOKED_VALUE, ttlMs: 1000 })).toBe(true);
    expect(list.apply({ key: revokedSessionKey('sid-2'), value: REVOKED_VALUE, ttlMs: 1000 })).toBe(true);
    expect(list.apply({ key: subjectNotBeforeKey('sub-3'), value: formatWatermark(WALL_MS / 1000), ttlMs: 1000 })).toBe(
      true,
    );

    expect(list.check(token())).toBe('token revoked');
    expect(list.check(token({ jti: 'other', sid: 'sid-2' }))).toBe('session revoked');
    expect(list.check(token({ jti: 'other', sub: 'sub-3' }))).toBe('all tokens of the subject revoked');
    // A session that began at or after the watermark is not covered.
    expect(list.check(token({ jti: 'other', sub: 'sub-3', authTime: WALL_MS / 1000 }))).toBeNull();
    expect(list.check(token({ jti: 'other' }))).toBeNull();
    expect(list.size()).toBe(3);
  });

  it('forgets an entry when its lifetime ends, not before', () => {
    list.apply({ key: revokedJtiKey('jti-1'), value: REVOKED_VALUE, ttlMs: 5000 });
    monotonic += 4999;
    list.prune();
    expect(list.check(token())).toBe('token revoked');
    monotonic += 1;
    list.prune();
    expect(list.check(token())).toBeNull();
    expect(list.size()).toBe(0);
  });

  it('keeps the later expiry and the higher watermark, whatever order entries arrive in', () => {
    list.apply({ key: revokedJtiKey('jti-1'), value: REVOKED_VALUE, ttlMs: 9000 });
    list.apply({ key: revokedJtiKey('jti-1'), value: REVOKED_VALUE, ttlMs: 1000 }); // an older, shorter copy
    const subject = subjectNotBeforeKey('sub-1');
    list.apply({ key: subject, value: formatWatermark(WALL_MS / 1000 - 10), ttlMs: 9000 });
    list.apply({ key: subject, value: formatWatermark(WALL_MS / 1000 - 100), ttlMs: 1000 }); // a slower, older request
    monotonic += 5000;
    list.prune();

    expect(list.check(token())).toBe('token revoked');
    expect(list.check(token({ jti: 'other', authTime: WALL_MS / 1000 - 50 }))).toBe(
      'all tokens of the subject revoked',
    );
  });

  it('caps every lifetime at 24 h, including "no expiry" from a full read', () => {
    list.apply({ key: revokedJtiKey('forever'), value: REVOKED_VALUE, ttlMs: -1 });
    list.apply({ key: revokedJtiKey('week'), value: REVOKED_VALUE, ttlMs: 7 * MAX_ENTRY_TTL_MS });
    monotonic += MAX_ENTRY_TTL_MS - 1;
    list.prune();
    expect(list.size()).toBe(2);
    monotonic += 1;
    list.prune();
    expect(list.size()).toBe(0);
  });

  it.each([
    ['a key outside the layout', { key: `${REDIS_KEY_PREFIX}rate:ip:1`, value: '1', ttlMs: 1000 }],
    ['an empty id', { key: revokedJtiKey(''), value: '1', ttlMs: 1000 }],
    ['an id no token has', { key: revokedJtiKey('') + 'x'.repeat(257), value: '1', ttlMs: 1000 }],
    ['a zero lifetime', { key: revokedJtiKey('jti-1'), value: '1', ttlMs: 0 }],
    ['a negative lifetime other than -1', { key: revokedJtiKey('jti-1'), value: '1', ttlMs: -2 }],
    ['an infinite lifetime', { key: revokedJtiKey('jti-1'), value: '1', ttlMs: Number.POSITIVE_INFINITY }],
    ['a watermark that is not a number', { key: subjectNotBeforeKey('sub-1'), value: 'soon', ttlMs: 1000 }],
    ['a negative watermark', { key: subjectNotBeforeKey('sub-1'), value: '-5', ttlMs: 1000 }],
    [
      'a watermark too far in the future (a user locked out)',
      {
        key: subjectNotBeforeKey('sub-1'),
        value: formatWatermark(WALL_MS / 1000 + MAX_WATERMARK_LEAD_SECONDS + 1),
        ttlMs: 1000,
      },
    ],
  ])('refuses %s', (_, entry) => {
    expect(list.apply(entry)).toBe(false);
    expect(list.size()).toBe(0);
    expect(list.check(token({ authTime: 0 }))).toBeNull();
  });

  it('accepts a watermark a little in the future (clock skew between the issuer hosts)', () => {
    const skewed = formatWatermark(WALL_MS / 1000 + MAX_WATERMARK_LEAD_SECONDS);
    expect(list.apply({ key: subjectNotBeforeKey('sub-1'), value: skewed, ttlMs: 1000 })).toBe(true);
    expect(list.check(token())).toBe('all tokens of the subject revoked');
  });
});
