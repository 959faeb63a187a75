import { CLAIMS, HEADER_MEMBERS, explain, secondsLeft } from './claims';

describe('claims explained', () => {
  it('explains every member this system’s tokens carry, each with its RFC', () => {
    const issued = [
      'iss',
      'sub',
      'aud',
      'exp',
      'iat',
      'jti',
      'client_id',
      'scope',
      'roles',
      'sid',
      'auth_time',
      'email',
      'act',
    ];
    for (const name of issued) expect(CLAIMS[name]?.rfc).toMatch(/RFC \d{4}|OpenID Connect/);
    for (const name of ['alg', 'kid', 'typ']) expect(HEADER_MEMBERS[name]?.rfc).toMatch(/RFC \d{4}/);
  });

  it('keeps the token’s order and marks an unknown member as unused, even one named like a prototype member', () => {
    const rows = explain({ typ: 'at+jwt', alg: 'ES256', constructor: 'x', zzz: 1 }, HEADER_MEMBERS);
    expect(rows.map((row) => row.name)).toEqual(['typ', 'alg', 'constructor', 'zzz']);
    expect(rows[0]).toMatchObject({ value: '"at+jwt"' });
    expect(rows[2].explanation.meaning).toBe('Not used by this system.');
    expect(rows[3].explanation.check).toBe('Ignored by the verifier.');
  });

  it('counts down whole seconds to exp, never below zero', () => {
    expect(secondsLeft(1_000, 990_500)).toBe(9);
    expect(secondsLeft(1_000, 1_000_000)).toBe(0);
    expect(secondsLeft(1_000, 2_000_000)).toBe(0);
  });
});
