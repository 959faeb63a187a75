/**
 * A resource service's throughput with and without the guard, measured from
 * outside with a load generator, the service pinned to core 0 and the
 * generator to core 1 (`taskset`), on the real users-service build
 * (dist/apps/users-service) and the real Redis.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestTokenIssuer } from '@jwt-ms/auth-jwt/testing';
import type { SigningAlgorithm } from '@jwt-ms/contracts';
import { ROOT, launchScript, stopProcess, type RunningService } from '@jwt-ms/testing';
import { formatLoad, installed, medianLoad, runLoad, type LoadFigures } from './http-load';
import { cpuMicros } from './public-path';
import { startUsersService } from './users-service';
import { establishRevocationListAt, serveJwks } from './verifier-fixture';

/** One service configuration's pair of measurements. */
export interface ThroughputRow {
  label: string;
  guarded: LoadFigures;
  public: LoadFigures;
}

/** Everything the throughput section measured. */
export interface ThroughputFigures {
  /** ES256, tokens repeat (cache hits): guarded / public. */
  cached: ThroughputRow;
  /** Cache off, so every request pays the signature check: as if every token were new. */
  uncached: Record<'ES256' | 'RS256', ThroughputRow>;
  /** The naive design (jose verify + one Redis GET per request), tokens repeating. */
  naive: ThroughputRow;
}

interface Options {
  /** Seconds per load run. */
  seconds: number;
  /** Alternating public/guarded rounds per configuration; each figure is the median run. */
  rounds: number;
  connections: number;
  redisUrl: string;
  log: (line: string) => void;
}

/**
 * Measures public `GET /health/live` and guarded `GET /whoami` on one service
 * process ({@link alternateGuardedAndPublic}), for each configuration in turn.
 */
export async function benchThroughput(options: Options): Promise<ThroughputFigures> {
  const scratchDir = mkdtempSync(join(tmpdir(), 'jwtms-bench-'));
  await establishRevocationListAt(options.redisUrl); // no issuer runs here
  const pin = installed('taskset', ['-V']) ? ['taskset', '-c', '0'] : [];
  const issuers = {
    ES256: await TestTokenIssuer.create({ algorithms: ['ES256'], audience: ['users-service'] }),
    RS256: await TestTokenIssuer.create({ algorithms: ['RS256'], audience: ['users-service'] }),
  };
  const servers = await Promise.all(Object.values(issuers).map(serveJwks));
  const jwks = { ES256: servers[0].url, RS256: servers[1].url };
  const tokensOf = async (alg: SigningAlgorithm) =>
    Promise.all(Array.from({ length: 100 }, () => issuers[alg as 'ES256' | 'RS256'].mint()));
  const tokens = { ES256: await tokensOf('ES256'), RS256: await tokensOf('RS256') };

  const measure = async (
    label: string,
    start: () => Promise<RunningService>,
    alg: 'ES256' | 'RS256',
  ): Promise<ThroughputRow> => {
    const service = await start();
    try {
      const { public: publicRuns, guarded: guardedRuns } = await alternateGuardedAndPublic(service, {
        seconds: options.seconds,
        rounds: options.rounds,
        connections: options.connections,
        scratchDir,
        tokens: tokens[alg],
      });
      const row = { label, public: medianLoad(publicRuns), guarded: medianLoad(guardedRuns) };
      if (row.guarded.non2xx > 0 || row.public.non2xx > 0) {
        throw new Error(`${label}: ${row.guarded.non2xx + row.public.non2xx} responses were not 2xx`);
      }
      options.log(
        `  ${label.padEnd(44)} public ${formatLoad(row.public)}   guarded ${formatLoad(row.guarded)}   ratio ${(row.guarded.requestsPerSecond / row.public.requestsPerSecond).toFixed(2)}`,
      );
      return row;
    } finally {
      await stopProcess(service.process);
    }
  };

  const usersService = (alg: 'ES256' | 'RS256', cacheSize: number) => () =>
    startUsersService({
      alg,
      issuer: issuers[alg].issuer,
      jwksUrl: jwks[alg],
      redisUrl: options.redisUrl,
      cacheSize,
      scratchDir,
      prefix: pin,
    });
  const naiveService = () =>
    launchScript(
      'naive-service',
      ['-r', '@swc-node/register', join(ROOT, 'tools/bench/naive-service.ts')],
      {
        SWC_NODE_PROJECT: join(ROOT, 'tsconfig.base.json'),
        PORT: '0',
        REDIS_URL: options.redisUrl,
        AUTH_ISSUER: issuers.ES256.issuer,
        AUTH_JWKS_URI: jwks.ES256,
        AUTH_ALGORITHMS: 'ES256',
      },
      undefined,
      pin,
    );

  try {
    const cached = await measure('ES256, tokens repeat (cache hits)', usersService('ES256', 10_000), 'ES256');
    const uncachedEs = await measure('ES256, cache off (every token verified)', usersService('ES256', 0), 'ES256');
    const uncachedRs = await measure('RS256, cache off (every token verified)', usersService('RS256', 0), 'RS256');
    const naive = await measure('naive: jose verify + Redis GET per request', naiveService, 'ES256');
    return { cached, uncached: { ES256: uncachedEs, RS256: uncachedRs }, naive };
  } finally {
    for (const { server } of servers) server.close();
    rmSync(scratchDir, { recursive: true, force: true });
  }
}

/** What {@link alternateGuardedAndPublic} needs besides the service. */
export interface AlternatingLoad {
  /** Seconds per load run. */
  seconds: number;
  /** Rounds; each is one public run, then one guarded run. */
  rounds: number;
  connections: number;
  /** Valid bearer tokens, sent round-robin on both paths. */
  tokens: string[];
  /** Folder for the load generator's scratch files. */
  scratchDir: string;
}

/**
 * Loads public `GET /health/live` and guarded `GET /whoami` of one running
 * service alternately (1 s warm-up of each first), the generator on core 1.
 * Both get the same requests but for the path, bearer token included: the
 * public endpoint ignores it, the guarded one verifies it.
 *
 * Each run also reads the service's CPU time (user + system, /proc) and
 * divides it by the requests served: far steadier than throughput on a
 * shared machine (see public-path.ts).
 *
 * @returns every run of each path, in order (round i is `public[i]` then `guarded[i]`), and each run's
 *   CPU time per request in microseconds (NaN without /proc), in the same order
 * @throws Error when the load generator fails
 */
export async function alternateGuardedAndPublic(
  service: RunningService,
  load: AlternatingLoad,
): Promise<{
  public: LoadFigures[];
  guarded: LoadFigures[];
  cpuMicrosPerRequest: { public: number[]; guarded: number[] };
}> {
  // Both send the same bearer tokens, as real clients do: the requests differ only in the path.
  const loadOf = (path: string) => ({
    url: `${service.url}${path}`,
    connections: load.connections,
    core: 1,
    scratchDir: load.scratchDir,
    tokens: load.tokens,
  });
  const publicLoad = loadOf('/health/live');
  const guardedLoad = loadOf('/whoami');
  // Warm-up (JIT, connections, caches), then public and guarded alternately.
  await runLoad({ ...publicLoad, seconds: 1 });
  await runLoad({ ...guardedLoad, seconds: 1 });
  const pid = service.process.pid ?? 0;
  const cpu = { public: [] as number[], guarded: [] as number[] };
  const measured = async (run: typeof publicLoad, path: 'public' | 'guarded') => {
    const before = cpuMicros(pid);
    const figures = await runLoad({ ...run, seconds: load.seconds });
    cpu[path].push((cpuMicros(pid) - before) / figures.requests);
    return figures;
  };
  const publicRuns: LoadFigures[] = [];
  const guardedRuns: LoadFigures[] = [];
  for (let round = 0; round < load.rounds; round += 1) {
    publicRuns.push(await measured(publicLoad, 'public'));
    guardedRuns.push(await measured(guardedLoad, 'guarded'));
  }
  return { public: publicRuns, guarded: guardedRuns, cpuMicrosPerRequest: cpu };
}
