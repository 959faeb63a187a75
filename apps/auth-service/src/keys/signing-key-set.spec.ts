import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { jwtVerify, createLocalJWKSet, SignJWT } from 'jose';
import { ConfigError } from '@jwt-ms/service-core';
import { loadAuthServiceConfig } from '../auth-service.config';
import { generateSigningJwk } from './signing-jwk';
import { SigningKeys, loadPrivateSigningKeySet } from './signing-key-set';

const freshDir = () => mkdtempSync(join(tmpdir(), 'auth-keys-'));
const ROOT = join(__dirname, '../../../..');

describe('signing keys', () => {
  it('generates a key set on first start in development, and reuses it after', () => {
    const dir = freshDir();
    const config = loadAuthServiceConfig({ DATA_DIR: dir });
    const first = loadPrivateSigningKeySet(config);
    expect(first.keys).toHaveLength(1);
    expect(first.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', d: expect.any(String) });
    expect(statSync(join(dir, 'signing-jwks.json')).mode & 0o777).toBe(0o600);
    expect(loadPrivateSigningKeySet(config).keys[0].kid).toBe(first.keys[0].kid);
  });

  it('adds a key when the configured algorithm changes in development', () => {
    const dir = freshDir();
    loadPrivateSigningKeySet(loadAuthServiceConfig({ DATA_DIR: dir }));
    const set = loadPrivateSigningKeySet(loadAuthServiceConfig({ DATA_DIR: dir, SIGNING_ALGORITHM: 'EdDSA' }));
    expect(set.keys.map((key) => key.alg)).toEqual(['EdDSA', 'ES256']);
    expect(JSON.parse(readFileSync(join(dir, 'signing-jwks.json'), 'utf8')).keys).toHaveLength(2);
  });

  it('refuses a key file it cannot read with one clear line, not a stack trace', () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'signing-jwks.json')); // a folder where the file should be: EISDIR
    const config = loadAuthServiceConfig({ SIGNING_JWKS_FILE: join(dir, 'signing-jwks.json') });
    expect(() => loadPrivateSigningKeySet(config)).toThrow(ConfigError);
    expect(() => loadPrivateSigningKeySet(config)).toThrow(
      /SIGNING_JWKS_FILE .*: cannot be read \(EISDIR\); check the path/,
    );
  });

  it("names the service's user when the key file's permissions keep it out (a secret mounted for another uid)", () => {
    // Root reads any file, so the service's side runs as `nobody` in a child process.
    const dir = freshDir();
    chmodSync(dir, 0o755);
    const file = join(dir, 'signing-jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [generateSigningJwk('ES256')] }), { mode: 0o600 });
    const config = loadAuthServiceConfig({ SIGNING_JWKS_FILE: file });
    chmodSync(file, 0o000);
    const asNobody = spawnSync(
      process.execPath,
      [
        '-r',
        '@swc-node/register',
        '-e',
        `const { loadPrivateSigningKeySet } = require(${JSON.stringify(join(__dirname, 'signing-key-set.ts'))});
         try { loadPrivateSigningKeySet(${JSON.stringify(config)}); console.log('loaded'); } catch (e) { console.log(e.constructor.name + ': ' + e.message); }`,
      ],
      {
        uid: 65534,
        gid: 65534,
        encoding: 'utf8',
        env: { ...process.env, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.base.json') },
        cwd: ROOT,
      },
    );
    expect(asNobody.stdout.trim()).toMatch(
      /^ConfigError: [\s\S]*SIGNING_JWKS_FILE .*: cannot be read \(EACCES\); the service's user \(uid 65534\) may not read it: give it read access/,
    );
  });

  it('refuses to start in production without keys, saying how to get them', () => {
    expect(() => loadAuthServiceConfig({ NODE_ENV: 'production' })).toThrow(
      /SIGNING_JWKS: production needs the signing keys.*keys:generate/,
    );
  });

  it('refuses a production admin password that is a placeholder', () => {
    const keys = JSON.stringify({ keys: [generateSigningJwk('ES256')] });
    expect(() =>
      loadAuthServiceConfig({
        NODE_ENV: 'production',
        SIGNING_JWKS: keys,
        ADMIN_EMAIL: 'a@example.test',
        ADMIN_PASSWORD: 'changeme',
      }),
    ).toThrow(/ADMIN_PASSWORD: in production it must be at least 12 characters/);
  });

  it.each<[string, string, RegExp]>([
    ['not JSON', '{', /not valid JSON/],
    ['no keys', '{"keys": []}', /at least one key/],
    ['a public key', JSON.stringify({ keys: [{ ...generateSigningJwk('ES256'), d: undefined }] }), /not a private key/],
    [
      'an HMAC algorithm',
      JSON.stringify({ keys: [{ ...generateSigningJwk('ES256'), alg: 'HS256' }] }),
      /"alg" must be one of ES256, RS256, EdDSA/,
    ],
    [
      'no key for the algorithm',
      JSON.stringify({ keys: [generateSigningJwk('RS256')] }),
      /holds no key for SIGNING_ALGORITHM=ES256/,
    ],
  ])('refuses SIGNING_JWKS with %s', (_name, value, message) => {
    const config = loadAuthServiceConfig({ SIGNING_JWKS: value });
    expect(() => loadPrivateSigningKeySet(config)).toThrow(ConfigError);
    expect(() => loadPrivateSigningKeySet(config)).toThrow(message);
  });

  it('refuses a SIGNING_JWKS_FILE that does not exist', () => {
    const config = loadAuthServiceConfig({ SIGNING_JWKS_FILE: join(freshDir(), 'missing.json') });
    expect(() => loadPrivateSigningKeySet(config)).toThrow(/no such file/);
  });

  it.each(['ES256', 'RS256', 'EdDSA'] as const)(
    'publishes only public members, and the published key verifies what the private one signs (%s)',
    async (alg) => {
      const dir = freshDir();
      writeFileSync(join(dir, 'keys.json'), JSON.stringify({ keys: [generateSigningJwk(alg)] }));
      const set = loadPrivateSigningKeySet(
        loadAuthServiceConfig({ SIGNING_JWKS_FILE: join(dir, 'keys.json'), SIGNING_ALGORITHM: alg }),
      );
      const keys = new SigningKeys(set, alg);
      for (const jwk of keys.publicJwks().keys) {
        for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'nbf', 'exp']) expect(jwk).not.toHaveProperty(member);
      }
      const current = await keys.current();
      const token = await new SignJWT({ sub: 'x' })
        .setProtectedHeader({ alg, kid: current.kid })
        .sign(current.privateKey);
      const { payload } = await jwtVerify(token, createLocalJWKSet(keys.publicJwks()));
      expect(payload.sub).toBe('x');
    },
  );
});
