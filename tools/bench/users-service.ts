/**
 * Starting the real users-service build (dist/apps/users-service) for a
 * benchmark, without the auth service: a local JWKS, the revocation list's
 * generation marker, SQLite in a scratch folder.
 */
import { join } from 'node:path';
import type { SigningAlgorithm } from '@jwt-ms/contracts';
import { ROOT, launchScript, type RunningService } from '@jwt-ms/testing';

/** How to start one users-service process. */
export interface UsersServiceLaunch {
  alg: SigningAlgorithm;
  /** The tokens' `iss`. */
  issuer: string;
  /** Where the issuer's JWKS is served ({@link serveJwks}). */
  jwksUrl: string;
  redisUrl: string;
  /** Verified-token cache entries; 0 turns the cache off (every token pays the signature check). */
  cacheSize: number;
  /** Folder for its SQLite file. */
  scratchDir: string;
  /** A command to run it under, e.g. `['taskset', '-c', '0']`. */
  prefix?: string[];
  /** Flags for `node` before the script, e.g. a `--require` preload. */
  nodeFlags?: string[];
  /** More environment (e.g. for a preload). */
  env?: Record<string, string>;
  /** Another build's entry point to run instead of dist/apps/users-service/main.js (to compare two builds). */
  script?: string;
}

/** @returns the running process once it listens (keys and revocation list loaded) */
export function startUsersService(launch: UsersServiceLaunch): Promise<RunningService> {
  return launchScript(
    'users-service',
    [...(launch.nodeFlags ?? []), launch.script ?? join(ROOT, 'dist/apps/users-service/main.js')],
    {
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: '0',
      REDIS_URL: launch.redisUrl,
      SQLITE_PATH: join(launch.scratchDir, `users-${launch.alg}-${launch.cacheSize}-${Date.now()}.sqlite`),
      AUTH_ISSUER: launch.issuer,
      AUTH_JWKS_URI: launch.jwksUrl,
      AUTH_ALGORITHMS: launch.alg,
      AUTH_VERIFIED_TOKEN_CACHE_SIZE: String(launch.cacheSize),
      ...launch.env,
    },
    undefined,
    launch.prefix ?? [],
  );
}
