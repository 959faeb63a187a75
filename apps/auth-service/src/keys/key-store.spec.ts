import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProblemException } from '@jwt-ms/service-core';
import { waitUntil } from '@jwt-ms/testing';
import { loadAuthServiceConfig } from '../auth-service.config';
import { KeyStore } from './key-store';
import { nowSeconds, rotateKeySet } from './key-rotation';
import { generateSigningJwk } from './signing-jwk';
import { SigningKeys, loadPrivateSigningKeySet, writeKeySet } from './signing-key-set';

/** Rotation through the admin endpoint, where the key file lives (`SIGNING_JWKS_FILE`). */
describe('KeyStore.rotate', () => {
  function storeOnFile() {
    const dir = mkdtempSync(join(tmpdir(), 'auth-key-store-'));
    const file = join(dir, 'signing-jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [generateSigningJwk('ES256')] }), { mode: 0o600 });
    const config = loadAuthServiceConfig({ SIGNING_JWKS_FILE: file });
    const keys = new SigningKeys(loadPrivateSigningKeySet(config), 'ES256');
    return { file, keys, store: new KeyStore(keys, config) };
  }

  it('writes the rotated set to the file and publishes the new key at once', () => {
    const { file, keys, store } = storeOnFile();
    const result = store.rotate();
    expect(JSON.parse(readFileSync(file, 'utf8')).keys.map((k: { kid: string }) => k.kid)).toContain(result.kid);
    expect(keys.publicJwks().keys.map((k) => k.kid)).toContain(result.kid);
  });

  it('answers 409 with what to do when the file cannot be written (a read-only Secret), and changes nothing', () => {
    const { file, keys, store } = storeOnFile();
    const before = readFileSync(file, 'utf8');
    const published = keys.publicJwks().keys.map((k) => k.kid);
    // The atomic write goes through `<file>.<pid>.tmp`: a folder in its place makes the write fail,
    // as a read-only mount does (root may write anywhere else).
    mkdirSync(`${file}.${process.pid}.tmp`);
    let thrown: unknown;
    try {
      store.rotate();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ProblemException);
    const problem = thrown as ProblemException;
    expect(problem.getStatus()).toBe(409);
    expect(problem.code).toBe('conflict');
    expect(problem.detail).toMatch(/read-only mount.*npm run keys:rotate.*Nothing was rotated/);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(keys.publicJwks().keys.map((k) => k.kid)).toEqual(published);
  });

  it('leaves no private key behind in a temporary file when the final rename fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'auth-key-store-'));
    const target = join(dir, 'signing-jwks.json');
    mkdirSync(join(target, 'occupied'), { recursive: true }); // a non-empty folder cannot be renamed over
    expect(() => writeKeySet(target, { keys: [generateSigningJwk('ES256')] })).toThrow();
    expect(existsSync(`${target}.${process.pid}.tmp`)).toBe(false);
  });
});

/** A Secret volume: kubelet writes a new timestamped directory and swaps the `..data` symlink atomically. */
describe('KeyStore reload from a Secret volume', () => {
  it('picks up the new set when kubelet swaps the ..data symlink', async () => {
    const volume = mkdtempSync(join(tmpdir(), 'auth-secret-volume-'));
    const generation = (name: string, set: unknown) => {
      mkdirSync(join(volume, name));
      writeFileSync(join(volume, name, 'signing-jwks.json'), JSON.stringify(set), { mode: 0o600 });
      // The atomic writer: a new symlink renamed over `..data`.
      symlinkSync(name, join(volume, '..data_tmp'));
      renameSync(join(volume, '..data_tmp'), join(volume, '..data'));
    };
    const first = { keys: [generateSigningJwk('ES256')] };
    generation('..2026_01_01_00_00_00.1', first);
    symlinkSync('..data/signing-jwks.json', join(volume, 'signing-jwks.json'));
    const config = loadAuthServiceConfig({
      SIGNING_JWKS_FILE: join(volume, 'signing-jwks.json'),
      SIGNING_KEYS_RELOAD_SECONDS: '1',
    });
    const keys = new SigningKeys(loadPrivateSigningKeySet(config), 'ES256');
    const store = new KeyStore(keys, config);
    store.onModuleInit();
    try {
      const rotated = rotateKeySet(first, {
        alg: 'ES256',
        now: nowSeconds(),
        leadSeconds: 0,
        accessTokenTtlSeconds: 60,
      });
      generation('..2026_01_01_00_01_00.2', rotated.set);
      await waitUntil(
        () => keys.publicJwks().keys.some((key) => key.kid === rotated.kid),
        'the replica to reload the swapped set',
        10_000,
      );
      // The old key keeps being published until it retires; the new one signs (no lead).
      expect(keys.publicJwks().keys.map((key) => key.kid)).toEqual(expect.arrayContaining([first.keys[0].kid]));
      expect((await keys.current()).kid).toBe(rotated.kid);
    } finally {
      store.onApplicationShutdown();
    }
  }, 30_000);
});
