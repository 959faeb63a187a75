import {
  MAX_ANNOUNCEMENT_LENGTH,
  MAX_REVOCATION_ID_LENGTH,
  REDIS_KEY_PREFIX,
  REVOCATION_GENERATION_KEY,
  REVOCATION_INDEX_KEY,
  formatRevocationAnnouncement,
  formatRevocationGeneration,
  formatWatermark,
  parseRevocationAnnouncement,
  parseRevocationGeneration,
  parseRevocationKey,
  parseWatermark,
  revocationChannel,
  revokedJtiKey,
  revokedSessionKey,
  subjectNotBeforeKey,
} from './revocation-keys';

describe('revocation layout: every builder has its parser', () => {
  it('parses each kind of key back to what it names, whatever the id contains', () => {
    const id = 'a:b:revoked:sid:c'; // ids are opaque: a colon or a prefix inside must not confuse the parser
    expect(parseRevocationKey(revokedJtiKey(id))).toEqual({ kind: 'token', id });
    expect(parseRevocationKey(revokedSessionKey(id))).toEqual({ kind: 'session', id });
    expect(parseRevocationKey(subjectNotBeforeKey(id))).toEqual({ kind: 'subject', id });
  });

  it('keeps the three kinds apart, and every key under the project prefix', () => {
    const keys = [revokedJtiKey('x'), revokedSessionKey('x'), subjectNotBeforeKey('x')];
    expect(new Set(keys).size).toBe(3);
    for (const key of [...keys, REVOCATION_INDEX_KEY, REVOCATION_GENERATION_KEY, revocationChannel(3)])
      expect(key.startsWith(REDIS_KEY_PREFIX)).toBe(true);
  });

  it('refuses keys that name no revocation: other keys, empty ids, ids no token has', () => {
    expect(parseRevocationKey(`${REDIS_KEY_PREFIX}rate:ip:1`)).toBeNull();
    expect(parseRevocationKey(REVOCATION_INDEX_KEY)).toBeNull();
    expect(parseRevocationKey(revokedJtiKey(''))).toBeNull();
    expect(parseRevocationKey(revokedJtiKey('x'.repeat(MAX_REVOCATION_ID_LENGTH)))).not.toBeNull();
    expect(parseRevocationKey(revokedJtiKey('') + 'x'.repeat(MAX_REVOCATION_ID_LENGTH + 1))).toBeNull();
  });

  it('never builds a key its parser would refuse: an over-long id is an error, not a revocation nobody reads', () => {
    const tooLong = 'x'.repeat(MAX_REVOCATION_ID_LENGTH + 1);
    for (const build of [revokedJtiKey, revokedSessionKey, subjectNotBeforeKey]) {
      expect(() => build(tooLong)).toThrow(RangeError);
      expect(parseRevocationKey(build('x'.repeat(MAX_REVOCATION_ID_LENGTH)))).not.toBeNull();
    }
  });

  it('round-trips a watermark at millisecond precision, and refuses what is not one', () => {
    expect(formatWatermark(1_700_000_000.1234)).toBe('1700000000.123');
    expect(parseWatermark(formatWatermark(1_700_000_000.5))).toBe(1_700_000_000.5);
    for (const bad of ['soon', '-1', 'Infinity', 'NaN']) expect(parseWatermark(bad)).toBeNull();
  });

  it('names the channel after the database, so deployments kept apart by database do not hear each other', () => {
    expect(revocationChannel()).toBe(revocationChannel(0));
    expect(revocationChannel(5)).not.toBe(revocationChannel(0));
    expect(revocationChannel(5)).not.toBe(revocationChannel(6));
  });

  it('round-trips an announcement, and refuses messages without a key, a value and a positive lifetime', () => {
    const announcement = { key: revokedJtiKey('j'), value: '1', ttlMs: 960_000 };
    expect(parseRevocationAnnouncement(formatRevocationAnnouncement(announcement))).toEqual(announcement);
    // Member order is not part of the format: the issuer's script encodes with cjson.
    expect(parseRevocationAnnouncement('{"ttlMs":5,"value":"1","key":"k"}')).toEqual({
      key: 'k',
      value: '1',
      ttlMs: 5,
    });
    const refused = [
      'not json',
      'null',
      JSON.stringify({ key: 'k', value: 1, ttlMs: 5 }),
      JSON.stringify({ key: 'k', value: '1' }),
      JSON.stringify({ key: 'k', value: '1', ttlMs: 0 }),
      JSON.stringify({ key: 'k', value: '1', ttlMs: -1 }), // "forever" is only what a full read reports
      JSON.stringify({ key: 'k', value: '1', ttlMs: '5' }),
      JSON.stringify({ key: 'k', value: 'x'.repeat(MAX_ANNOUNCEMENT_LENGTH), ttlMs: 5 }),
    ];
    for (const message of refused) expect(parseRevocationAnnouncement(message)).toBeNull();
  });

  it('round-trips a generation marker, with or without its establishment time', () => {
    const waiting = { id: 'g1', established: false, tokenLifetimeSeconds: 900, establishesAt: 1_800_000_000_000 };
    const established = { id: 'g2', established: true, tokenLifetimeSeconds: 600 };
    expect(parseRevocationGeneration(formatRevocationGeneration(waiting))).toEqual(waiting);
    expect(parseRevocationGeneration(formatRevocationGeneration(established))).toEqual(established);
    expect(formatRevocationGeneration({ ...established, extra: 'dropped' } as never)).not.toContain('extra');
    expect(parseRevocationGeneration(null)).toBeNull();
    expect(parseRevocationGeneration('{"id":"","established":true,"tokenLifetimeSeconds":900}')).toBeNull();
    expect(parseRevocationGeneration('{"id":"g","established":true,"tokenLifetimeSeconds":1.5}')).toBeNull();
  });
});
