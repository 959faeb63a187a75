import { publishedKeysAt, rotateKeySet, signingKeyAt } from './key-rotation';
import { generateSigningJwk } from './signing-jwk';
import { SigningKeys } from './signing-key-set';

const T0 = 1_800_000_000; // a frozen clock, seconds since the epoch

describe('key rotation', () => {
  const original = { ...generateSigningJwk('ES256'), kid: 'old' };
  const rotation = rotateKeySet(
    { keys: [original] },
    { alg: 'ES256', now: T0, leadSeconds: 600, accessTokenTtlSeconds: 900 },
  );
  const set = rotation.set;

  it('publishes the new key at once but signs with the old one until the lead time has passed', () => {
    expect(publishedKeysAt(set, T0).map((key) => key.kid)).toEqual([rotation.kid, 'old']);
    expect(signingKeyAt(set, 'ES256', T0)?.kid).toBe('old');
    expect(signingKeyAt(set, 'ES256', T0 + 599)?.kid).toBe('old');
    expect(signingKeyAt(set, 'ES256', T0 + 600)?.kid).toBe(rotation.kid);
    expect(rotation.signsFrom).toBe(T0 + 600);
  });

  it('keeps the old key published until every token it signed has expired, then retires it', () => {
    const lastOldToken = T0 + 599; // issued just before the switch, valid for 900 s
    expect(rotation.retiring).toEqual([{ kid: 'old', retiresAt: T0 + 600 + 900 + 60 }]);
    expect(publishedKeysAt(set, lastOldToken + 900).map((key) => key.kid)).toContain('old');
    expect(publishedKeysAt(set, T0 + 1560).map((key) => key.kid)).toEqual([rotation.kid]);
  });

  it('removes retired keys at the next rotation', () => {
    const next = rotateKeySet(set, { alg: 'ES256', now: T0 + 2000, leadSeconds: 600, accessTokenTtlSeconds: 900 });
    expect(next.removed).toEqual(['old']);
    expect(next.set.keys.map((key) => key.kid)).toEqual([next.kid, rotation.kid]);
    expect(next.retiring.map((entry) => entry.kid)).toEqual([rotation.kid]);
  });

  it('never publishes lifecycle members or private parts, and refuses a set that cannot sign now', async () => {
    const keys = new SigningKeys(set, 'ES256');
    for (const jwk of keys.publicJwks(T0).keys) {
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    }
    expect(() => keys.replace({ keys: [{ ...original, exp: 1 }] })).toThrow(/no key can sign/);
  });
});
