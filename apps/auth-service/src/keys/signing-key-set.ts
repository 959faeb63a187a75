import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Logger } from '@nestjs/common';
import { importJWK, type JSONWebKeySet } from 'jose';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '@jwt-ms/contracts';
import { ConfigError } from '@jwt-ms/service-core';
import type { AuthServiceConfig } from '../auth-service.config';
import { nowSeconds, publishedKeysAt, signingKeyAt } from './key-rotation';
import { generateSigningJwk, privateJwkOnly, toPublicJwk, type PrivateSigningJwk } from './signing-jwk';

/**
 * Finds the private signing key set, in this order: `SIGNING_JWKS` (JSON),
 * `SIGNING_JWKS_FILE`, then, outside production, `<DATA_DIR>/signing-jwks.json`,
 * generated on first start (mode 0600) so restarts keep the same keys.
 * Every auth replica must be given the same set.
 *
 * @returns the private JWK Set; it holds a key for `SIGNING_ALGORITHM`
 * @throws ConfigError when the set is missing (production), unreadable or malformed
 */
export function loadPrivateSigningKeySet(config: AuthServiceConfig): { keys: PrivateSigningJwk[] } {
  let source: string;
  let raw: string;
  if (config.SIGNING_JWKS) {
    source = 'SIGNING_JWKS';
    raw = config.SIGNING_JWKS;
  } else {
    const file = config.SIGNING_JWKS_FILE ?? join(config.DATA_DIR, 'signing-jwks.json');
    source = config.SIGNING_JWKS_FILE ? `SIGNING_JWKS_FILE (${file})` : file;
    if (!existsSync(file)) {
      if (config.SIGNING_JWKS_FILE || config.NODE_ENV === 'production') {
        throw new ConfigError([`${source}: no such file; generate a key set with \`npm run keys:generate\``]);
      }
      writeKeySet(file, { keys: [generateSigningJwk(config.SIGNING_ALGORITHM)] });
      new Logger('SigningKeys').log(`generated a development ${config.SIGNING_ALGORITHM} signing key set in ${file}`);
    }
    raw = readKeyFile(file, source);
  }
  const set = parseKeySet(raw, source);
  if (!set.keys.some((key) => key.alg === config.SIGNING_ALGORITHM)) {
    if (config.SIGNING_JWKS || config.SIGNING_JWKS_FILE || config.NODE_ENV === 'production') {
      throw new ConfigError([`${source}: holds no key for SIGNING_ALGORITHM=${config.SIGNING_ALGORITHM}`]);
    }
    set.keys.unshift(generateSigningJwk(config.SIGNING_ALGORITHM));
    writeKeySet(join(config.DATA_DIR, 'signing-jwks.json'), set);
    new Logger('SigningKeys').log(
      `added a ${config.SIGNING_ALGORITHM} key to ${source}; the older keys stay published in the JWKS`,
    );
  }
  return set;
}

/**
 * Reads a key file, turning the operating system's refusal into a configuration
 * error that says what to do (the usual case: a file mounted into a container
 * whose user, uid 10001 in the images, may not read it).
 *
 * @throws ConfigError when the file cannot be read
 */
function readKeyFile(file: string, source: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
    const hint =
      code === 'EACCES'
        ? `the service's user${uid === undefined ? '' : ` (uid ${uid})`} may not read it: give it read access (chown, or chmod 0640 with its group)`
        : 'check the path';
    throw new ConfigError([`${source}: cannot be read (${code}); ${hint}`]);
  }
}

/**
 * The file the key set lives in, when it lives in one (`SIGNING_JWKS_FILE`, or
 * the development file); undefined when it comes from `SIGNING_JWKS`.
 */
export function signingKeySetFile(config: AuthServiceConfig): string | undefined {
  if (config.SIGNING_JWKS) return undefined;
  return config.SIGNING_JWKS_FILE ?? join(config.DATA_DIR, 'signing-jwks.json');
}

/**
 * Writes a private key set atomically (a temporary file renamed over the old
 * one, mode 0600), so a reader never sees half a key set.
 */
export function writeKeySet(file: string, set: { keys: PrivateSigningJwk[] }): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify(set, null, 2)}\n`, { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, file);
  } catch (error) {
    // Never leave a private key set behind in a temporary file.
    try {
      if (statSync(temporary).isFile()) rmSync(temporary);
    } catch {
      // nothing was written
    }
    throw error;
  }
}

/**
 * Reads and validates a private key set file.
 *
 * @throws ConfigError when it is unreadable or malformed
 */
export function readKeySetFile(file: string): { keys: PrivateSigningJwk[] } {
  return parseKeySet(readKeyFile(file, file), file);
}

/**
 * Parses and validates a private key set from its JSON text (a file, or a Secret's data).
 *
 * @param source where it came from, for the error messages
 * @throws ConfigError when it is malformed
 */
export function parseKeySet(raw: string, source: string): { keys: PrivateSigningJwk[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError([`${source}: not valid JSON; expected a JWK Set {"keys": [...]}`]);
  }
  const keys = (parsed as { keys?: unknown })?.keys;
  if (!Array.isArray(keys) || keys.length === 0)
    throw new ConfigError([`${source}: expected a JWK Set {"keys": [...]} with at least one key`]);
  keys.forEach((key: Partial<PrivateSigningJwk>, index) => {
    const where = `${source}: keys[${index}]`;
    if (typeof key?.kid !== 'string' || key.kid.length === 0) throw new ConfigError([`${where}: "kid" is required`]);
    if (!SIGNING_ALGORITHMS.includes(key.alg as SigningAlgorithm)) {
      throw new ConfigError([`${where}: "alg" must be one of ${SIGNING_ALGORITHMS.join(', ')}`]);
    }
    if (typeof key.d !== 'string') throw new ConfigError([`${where}: not a private key (no "d")`]);
  });
  return { keys: keys.map((key) => ({ ...key, use: 'sig' })) as PrivateSigningJwk[] };
}

/**
 * The issuer's keys in memory, with their lifecycle (see key-rotation.ts):
 * which key signs now, and which keys are published. Replaced as a whole when
 * the key set changes (a rotation, a reloaded file).
 */
export class SigningKeys {
  private set: { keys: PrivateSigningJwk[] };
  private readonly imported = new Map<string, Promise<CryptoKey>>();

  /**
   * @param set the private set (see {@link loadPrivateSigningKeySet})
   * @param alg the signing algorithm (`SIGNING_ALGORITHM`)
   * @throws ConfigError when no key of the set can sign with `alg` now
   */
  constructor(
    set: { keys: PrivateSigningJwk[] },
    private readonly alg: SigningAlgorithm,
  ) {
    this.set = set;
    this.replace(set);
  }

  /**
   * Switches to a new key set.
   *
   * @throws ConfigError when no key of it can sign now (the old set stays in use)
   */
  replace(set: { keys: PrivateSigningJwk[] }): void {
    if (!signingKeyAt(set, this.alg, nowSeconds())) throw new ConfigError([`no key can sign with ${this.alg} now`]);
    this.set = set;
  }

  /** The private key set as it is now, e.g. to rotate it. */
  snapshot(): { keys: PrivateSigningJwk[] } {
    return structuredClone(this.set);
  }

  /** The key that signs new tokens at `now` (seconds since the epoch; default: now). */
  async current(now = nowSeconds()): Promise<{ kid: string; alg: SigningAlgorithm; privateKey: CryptoKey }> {
    const jwk = signingKeyAt(this.set, this.alg, now) ?? signingKeyAt(this.set, this.alg, Number.POSITIVE_INFINITY);
    if (!jwk) throw new ConfigError([`no signing key for ${this.alg}`]);
    let privateKey = this.imported.get(jwk.kid);
    if (!privateKey) {
      privateKey = importJWK(privateJwkOnly(jwk), jwk.alg) as Promise<CryptoKey>;
      this.imported.set(jwk.kid, privateKey);
    }
    return { kid: jwk.kid, alg: jwk.alg, privateKey: await privateKey };
  }

  /** The public JWK Set served at `/.well-known/jwks.json` (RFC 7517 §5): every key not yet retired. */
  publicJwks(now = nowSeconds()): JSONWebKeySet {
    return { keys: publishedKeysAt(this.set, now).map(toPublicJwk) };
  }
}
