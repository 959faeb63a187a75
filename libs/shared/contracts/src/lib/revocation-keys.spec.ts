import {
  MAX_REVOCATION_ID_LENGTH,
  REDIS_KEY_PREFIX,
  REVOCATION_ENTRIES_KEY,
  REVOCATION_EXPIRY_KEY,
  REVOCATION_GENERATION_KEY,
  REVOCATION_HASH_TAG,
  REVOCATION_LOG_KEY,
  authTimeClaimKey,
  formatRevocationGeneration,
  formatRevocationValue,
  formatWatermark,
  parseRevocationEntry,
  parseRevocationField,
  parseRevocationGeneration,
  parseWatermark,
  revocationField,
  type RevocationEntry,
} from './revocation-keys';

/** The hash tag Redis Cluster places a key by: the text between the first `{` and the next `}`. */
function hashTag(key: string): string | null {
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : null;
}

describe('revocation layout: every builder has its parser', () => {
  const keys = [REVOCATION_ENTRIES_KEY, REVOCATION_EXPIRY_KEY, REVOCATION_LOG_KEY, REVOCATION_GENERATION_KEY];

  it('puts every key of the list in one Redis Cluster slot, under the project prefix', () => {
    expect(new Set(keys).size).toBe(keys.length);
    for (const key of keys) {
      expect(key.startsWith(REDIS_KEY_PREFIX)).toBe(true);
      expect(hashTag(key)).toBe(REVOCATION_HASH_TAG.slice(1, -1));
    }
  });

  it('parses each kind of field back to what it names, whatever the id contains', () => {
    const id = 'a:b:sid:c{x}'; // ids are opaque: a colon, a prefix or a brace inside must not confuse the parser
    expect(parseRevocationField(revocationField('token', id))).toEqual({ kind: 'token', id });
    expect(parseRevocationField(revocationField('session', id))).toEqual({ kind: 'session', id });
    expect(parseRevocationField(revocationField('subject', id))).toEqual({ kind: 'subject', id });
    expect(new Set(['token', 'session', 'subject'].map((kind) => revocationField(kind as 'token', 'x'))).size).toBe(3);
  });

  it('refuses fields that name no revocation: other text, empty ids, ids no token has', () => {
    expect(parseRevocationField('rate:ip:1')).toBeNull();
    expect(parseRevocationField('jti:')).toBeNull();
    expect(parseRevocationField('JTI:x')).toBeNull();
    expect(parseRevocationField('jti:' + 'x'.repeat(MAX_REVOCATION_ID_LENGTH))).not.toBeNull();
    expect(parseRevocationField('jti:' + 'x'.repeat(MAX_REVOCATION_ID_LENGTH + 1))).toBeNull();
  });

  it('never builds a field its parser would refuse: an empty or over-long id is an error, not a revocation nobody reads', () => {
    for (const kind of ['token', 'session', 'subject'] as const) {
      expect(() => revocationField(kind, 'x'.repeat(MAX_REVOCATION_ID_LENGTH + 1))).toThrow(RangeError);
      expect(() => revocationField(kind, '')).toThrow(RangeError);
      expect(parseRevocationField(revocationField(kind, 'x'.repeat(MAX_REVOCATION_ID_LENGTH)))).not.toBeNull();
    }
  });

  it('round-trips a watermark in whole seconds or at millisecond precision, and refuses what is not one', () => {
    expect(formatWatermark(1_700_000_001)).toBe('1700000001');
    expect(parseWatermark(formatWatermark(1_700_000_001))).toBe(1_700_000_001);
    expect(formatWatermark(1_700_000_000.1234)).toBe('1700000000.123');
    expect(parseWatermark(formatWatermark(1_700_000_000.5))).toBe(1_700_000_000.5);
    for (const bad of ['soon', '-1', 'Infinity', 'NaN', '']) expect(parseWatermark(bad)).toBeNull();
  });

  it("names a subject's auth-time claim in the revocation slot, for ids a field may hold", () => {
    expect(authTimeClaimKey('u1')).toBe('jwtms:{revocation}:auth-time-claim:u1');
    expect(() => authTimeClaimKey('')).toThrow(RangeError);
    expect(() => authTimeClaimKey('x'.repeat(MAX_REVOCATION_ID_LENGTH + 1))).toThrow(RangeError);
  });

  it('round-trips each kind of entry through its field and value', () => {
    const entries: RevocationEntry[] = [
      { kind: 'token', id: 'j1', expiresAtMs: 1_700_000_960_000 },
      { kind: 'session', id: 's1', expiresAtMs: 1_700_000_960_001 },
      { kind: 'subject', id: 'u1', expiresAtMs: 1_700_000_960_002, notBefore: 1_700_000_000.123 },
    ];
    for (const entry of entries) {
      expect(parseRevocationEntry(revocationField(entry.kind, entry.id), formatRevocationValue(entry))).toEqual(entry);
    }
    expect(formatRevocationValue(entries[2])).toBe('1700000960002:1700000000.123');
  });

  it('refuses values that are not an expiry (and, for a subject, a watermark)', () => {
    const refused: Array<[string, string]> = [
      ['jti:j', ''],
      ['jti:j', 'soon'],
      ['jti:j', '0'],
      ['jti:j', '-5'],
      ['jti:j', '1.5'],
      ['jti:j', '1700000960000:1700000000.000'], // a token carries no watermark
      ['sub:u', '1700000960000'], // a subject must
      ['sub:u', '1700000960000:never'],
      ['sub:u', ':1700000000.000'],
      ['jti:j', '9'.repeat(65)],
      ['other:j', '1700000960000'],
    ];
    for (const [field, value] of refused) expect(parseRevocationEntry(field, value)).toBeNull();
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
