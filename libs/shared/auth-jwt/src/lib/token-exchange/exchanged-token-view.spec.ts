import { SignJWT, generateKeyPair } from 'jose';
import { describeExchangedToken } from './exchanged-token-view';

const request = { audience: 'users-service', scope: 'profile:read' };

/** A token as the issuer signs an exchanged one (RFC 9068 header, RFC 8693 `act`). */
async function exchangedToken(): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256');
  return new SignJWT({ client_id: 'orders-service', scope: 'profile:read', act: { sub: 'orders-service' } })
    .setProtectedHeader({ alg: 'ES256', kid: 'key-1', typ: 'at+jwt' })
    .setIssuer('http://auth.test')
    .setSubject('user-1')
    .setAudience('users-service')
    .setIssuedAt(1_800_000_000)
    .setExpirationTime(1_800_000_300)
    .sign(privateKey);
}

describe('describeExchangedToken', () => {
  it('shows the protected header and the claims, with the audience and scope asked for', async () => {
    const view = describeExchangedToken(await exchangedToken(), request);
    expect(view).toEqual({
      header: { alg: 'ES256', kid: 'key-1', typ: 'at+jwt' },
      claims: {
        client_id: 'orders-service',
        scope: 'profile:read',
        act: { sub: 'orders-service' },
        iss: 'http://auth.test',
        sub: 'user-1',
        aud: 'users-service',
        iat: 1_800_000_000,
        exp: 1_800_000_300,
      },
      audience: 'users-service',
      scope: 'profile:read',
    });
  });

  it('carries no segment of the compact token, the signature least of all', async () => {
    const token = await exchangedToken();
    const shown = JSON.stringify(describeExchangedToken(token, request));
    for (const segment of token.split('.')) expect(shown).not.toContain(segment);
    expect(shown).not.toMatch(/signature/i);
  });

  it.each([
    ['an opaque token', 'a1b2c3d4e5f6'],
    ['a JWE (five segments)', 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXY.Y2lwaGVy.dGFn'],
    [
      'a JWS whose payload is not a JSON object',
      `eyJhbGciOiJFUzI1NiJ9.${Buffer.from('[1]').toString('base64url')}.c2ln`,
    ],
  ])('shows null header and claims for %s, and still the request', (_case, token) => {
    expect(describeExchangedToken(token, request)).toEqual({
      header: null,
      claims: null,
      audience: 'users-service',
      scope: 'profile:read',
    });
  });
});
