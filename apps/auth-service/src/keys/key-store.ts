import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { statSync } from 'node:fs';
import { ConfigError, ProblemException, logSecurityEvent } from '@jwt-ms/service-core';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { nowSeconds, rotateKeySet, type RotationResult } from './key-rotation';
import { SigningKeys, readKeySetFile, signingKeySetFile, writeKeySet } from './signing-key-set';

/**
 * Keeps the in-memory keys in step with where the key set lives. A key set in
 * a file (`SIGNING_JWKS_FILE`: in a cluster, a mounted Secret) is re-read when
 * it changes, so a rotation written by one replica or by `npm run keys:rotate`
 * reaches every replica without a restart. A key set in `SIGNING_JWKS` changes
 * only with a (rolling) restart.
 */
@Injectable()
export class KeyStore implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('KeyStore');
  private readonly file?: string;
  private lastModifiedMs = '';
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly keys: SigningKeys,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
  ) {
    this.file = signingKeySetFile(config);
  }

  onModuleInit(): void {
    if (!this.file) return;
    this.lastModifiedMs = this.modifiedMs();
    this.timer = setInterval(() => this.reloadIfChanged(), this.config.SIGNING_KEYS_RELOAD_SECONDS * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * Rotates the signing key (see `rotateKeySet`): the new key is published now
   * and signs after `SIGNING_KEY_LEAD_SECONDS`; the old one retires once its
   * tokens have expired.
   *
   * @returns what changed, times in seconds since the epoch
   * @throws ProblemException 409 `conflict` when the keys come from `SIGNING_JWKS`, or the key file cannot be
   *   written (a read-only Secret mount): rotate with the command, then roll out
   * @throws ProblemException 503 `dependency_unavailable` when the key file cannot be read
   */
  rotate(): RotationResult {
    if (!this.file) {
      throw new ProblemException({
        status: 409,
        code: 'conflict',
        detail:
          'The signing keys come from SIGNING_JWKS: rotate them with `npm run keys:rotate` and roll the new set out.',
      });
    }
    let current: ReturnType<typeof readKeySetFile>;
    try {
      current = readKeySetFile(this.file);
    } catch (error) {
      throw new ProblemException(
        {
          status: 503,
          code: 'dependency_unavailable',
          detail: `The signing key file cannot be read or is not a valid key set; nothing was rotated.`,
          headers: { 'retry-after': '5' },
        },
        { cause: error },
      );
    }
    const result = rotateKeySet(current, {
      alg: this.config.SIGNING_ALGORITHM,
      now: nowSeconds(),
      leadSeconds: this.config.SIGNING_KEY_LEAD_SECONDS,
      accessTokenTtlSeconds: this.config.ACCESS_TOKEN_TTL_SECONDS,
    });
    try {
      writeKeySet(this.file, result.set);
    } catch (error) {
      // A Kubernetes Secret or a compose secret is mounted read-only: the set is rotated where it is kept.
      throw new ProblemException(
        {
          status: 409,
          code: 'conflict',
          detail:
            'The signing key file cannot be written here (a read-only mount, such as a Kubernetes Secret): rotate the set with `npm run keys:rotate` where it is kept, update the Secret, and the running replicas reload it. Nothing was rotated.',
        },
        { cause: error },
      );
    }
    this.keys.replace(result.set);
    this.lastModifiedMs = this.modifiedMs();
    logSecurityEvent(
      this.logger,
      'signing_key_rotated',
      {
        kid: result.kid,
        signs_from: new Date(result.signsFrom * 1000).toISOString(),
        retiring: result.retiring.length,
      },
      'log',
    );
    return result;
  }

  private reloadIfChanged(): void {
    if (!this.file) return;
    const modified = this.modifiedMs();
    if (modified === this.lastModifiedMs) return;
    try {
      this.keys.replace(readKeySetFile(this.file));
      this.lastModifiedMs = modified;
      this.logger.log(`signing key set reloaded from ${this.file}`);
    } catch (error) {
      // Keep signing with the keys we have; say why the new file was refused.
      this.logger.error(
        `signing key set in ${this.file} not loaded: ${error instanceof ConfigError ? error.message : String(error)}`,
      );
    }
  }

  /**
   * The file's identity and modification time, through symlinks: a Secret volume update swaps the
   * `..data` symlink to a new directory (kubelet's atomic writer), so the path resolves to a new inode
   * whose mtime may even equal the old one's.
   */
  private modifiedMs(): string {
    try {
      const stat = statSync(this.file as string);
      return `${stat.dev}:${stat.ino}:${stat.mtimeMs}`;
    } catch {
      return '';
    }
  }
}
