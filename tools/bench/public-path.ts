/**
 * The public path's cost against the framework's: `GET /health/live` on the
 * real users-service build, on a bare NestJS + Fastify app serving the same
 * route (bare-nest-service.ts) and on bare `node:http` (bare-http-service.ts).
 * All three run at once, each pinned to core 0 with the load generator on
 * core 1, and are measured in turn, round after round, so that a change in
 * what else the machine runs shifts all three alike: the ratios are the
 * figures, not the requests per second. Each run also reads the server's
 * CPU time (user + system, from /proc) and divides it by the requests
 * served: CPU per request depends far less on what else the machine runs
 * than throughput does, so its ratio is the steadier figure on a shared
 * machine (the two agree when the server is what limits the run).
 *
 * To compare builds (a change against the code before it), give more
 * users-service entry points in BENCH_PUBLIC_COMPARE (comma-separated
 * `label=path/to/main.js`, the build inside the repository so that it finds
 * node_modules): each is measured in the same rounds, beside the others.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestTokenIssuer } from '@jwt-ms/auth-jwt/testing';
import { ROOT, launchScript, stopProcess, type RunningService } from '@jwt-ms/testing';
import { installed, runLoad, type LoadFigures } from './http-load';
import { startUsersService } from './users-service';
import { establishRevocationListAt, serveJwks } from './verifier-fixture';

/** The three servers' figures: each the median run, with every run's requests per second for the spread. */
export interface PublicPathFigures {
  users: LoadFigures;
  bareNest: LoadFigures;
  bareHttp: LoadFigures;
  /** Requests per second of every run, in order, by server. */
  runs: Record<'users' | 'bareNest' | 'bareHttp', number[]>;
  /** users-service ÷ bare NestJS of each round: the spread of the ratio. */
  roundRatios: number[];
  /** The median of {@link roundRatios}: the figure the goal is checked against. */
  ratio: number;
  /** Median CPU time per request of each server, in microseconds (NaN where /proc is not there). */
  cpuMicrosPerRequest: Record<'users' | 'bareNest' | 'bareHttp', number>;
  /** Each build of BENCH_PUBLIC_COMPARE: the median of its rounds' ratios to bare NestJS, and their range. */
  compared: Array<{
    label: string;
    ratio: number;
    min: number;
    max: number;
    requestsPerSecond: number;
    cpuMicrosPerRequest: number;
  }>;
}

interface Options {
  /** Other builds to measure beside dist/apps/users-service: label → entry point (main.js). */
  compare?: Record<string, string>;
  /** Seconds per load run. */
  seconds: number;
  /** Rounds; each round measures the three servers once. */
  rounds: number;
  connections: number;
  redisUrl: string;
  log: (line: string) => void;
}

/**
 * Measures the three servers (1 s warm-up each first), `rounds` rounds of one run each.
 *
 * @throws Error when a server answered anything but 2xx
 */
export async function benchPublicPath(options: Options): Promise<PublicPathFigures> {
  const scratchDir = mkdtempSync(join(tmpdir(), 'jwtms-bench-public-'));
  const pin = installed('taskset', ['-V']) ? ['taskset', '-c', '0'] : [];
  const issuer = await TestTokenIssuer.create({ algorithms: ['ES256'], audience: ['users-service'] });
  const jwks = await serveJwks(issuer);
  const started: RunningService[] = [];
  try {
    await establishRevocationListAt(options.redisUrl);
    const users = await startUsersService({
      alg: 'ES256',
      issuer: issuer.issuer,
      jwksUrl: jwks.url,
      redisUrl: options.redisUrl,
      cacheSize: 10_000,
      scratchDir,
      prefix: pin,
    });
    started.push(users);
    const bare = (file: string) =>
      launchScript(
        file,
        ['-r', '@swc-node/register', join(ROOT, 'tools/bench', file)],
        { SWC_NODE_PROJECT: join(ROOT, 'tsconfig.base.json'), PORT: '0' },
        undefined,
        pin,
      );
    const bareNest = await bare('bare-nest-service.ts');
    started.push(bareNest);
    const bareHttp = await bare('bare-http-service.ts');
    started.push(bareHttp);

    const servers: Record<string, RunningService> = { users, bareNest, bareHttp };
    for (const [label, script] of Object.entries(options.compare ?? {})) {
      const other = await startUsersService({
        alg: 'ES256',
        issuer: issuer.issuer,
        jwksUrl: jwks.url,
        redisUrl: options.redisUrl,
        cacheSize: 10_000,
        scratchDir,
        prefix: pin,
        script,
      });
      started.push(other);
      servers[`compare:${label}`] = other;
    }
    const names = Object.keys(servers);
    const cpu: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
    const load = async (name: string, seconds: number) => {
      const pid = servers[name].process.pid ?? 0;
      const before = cpuMicros(pid);
      const figures = await runLoad({
        url: `${servers[name].url}/health/live`,
        seconds,
        connections: options.connections,
        core: 1,
        scratchDir,
      });
      cpu[name].push((cpuMicros(pid) - before) / figures.requests);
      return figures;
    };
    for (const name of names) await load(name, 1);
    for (const name of names) cpu[name] = [];
    const runs: Record<string, LoadFigures[]> = Object.fromEntries(names.map((name) => [name, []]));
    const ratiosOf = (name: string) =>
      runs[name].map((run, round) => run.requestsPerSecond / runs.bareNest[round].requestsPerSecond);
    for (let round = 0; round < options.rounds; round += 1) {
      // Each round in another order, so that no server always follows the same one.
      const order = names.map((_, index) => names[(index + round) % names.length]);
      for (const name of order) runs[name].push(await load(name, options.seconds));
    }
    for (const name of names) {
      const failed = runs[name].reduce((sum, run) => sum + run.non2xx + run.errors, 0);
      if (failed > 0) throw new Error(`${name}: ${failed} answers were not 2xx or failed`);
    }
    const roundRatios = ratiosOf('users');
    const figures: PublicPathFigures = {
      users: medianRun(runs.users),
      bareNest: medianRun(runs.bareNest),
      bareHttp: medianRun(runs.bareHttp),
      runs: {
        users: runs.users.map((run) => run.requestsPerSecond),
        bareNest: runs.bareNest.map((run) => run.requestsPerSecond),
        bareHttp: runs.bareHttp.map((run) => run.requestsPerSecond),
      },
      roundRatios,
      ratio: median(roundRatios),
      cpuMicrosPerRequest: { users: median(cpu.users), bareNest: median(cpu.bareNest), bareHttp: median(cpu.bareHttp) },
      compared: Object.keys(options.compare ?? {}).map((label) => {
        const ratios = ratiosOf(`compare:${label}`);
        return {
          label,
          ratio: median(ratios),
          min: Math.min(...ratios),
          max: Math.max(...ratios),
          requestsPerSecond: medianRun(runs[`compare:${label}`]).requestsPerSecond,
          cpuMicrosPerRequest: median(cpu[`compare:${label}`]),
        };
      }),
    };
    const line = (label: string, name: string) => {
      const middle = medianRun(runs[name]);
      options.log(
        `  ${label.padEnd(34)} ${Math.round(middle.requestsPerSecond).toString().padStart(6)} req/s ` +
          `(runs ${runs[name].map((run) => Math.round(run.requestsPerSecond)).join(', ')})  ` +
          `p50 ${middle.p50Ms.toFixed(2)} p99 ${middle.p99Ms.toFixed(2)} ms  CPU ${median(cpu[name]).toFixed(1)} µs/req`,
      );
    };
    line('users-service GET /health/live', 'users');
    line('bare NestJS + Fastify, same route', 'bareNest');
    line('bare node:http', 'bareHttp');
    for (const label of Object.keys(options.compare ?? {})) line(`users-service build "${label}"`, `compare:${label}`);
    const range = (ratios: number[]) =>
      `${median(ratios).toFixed(2)} (rounds ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
    // Throughput is the inverse of CPU per request when the server is the bottleneck: bare's CPU ÷ this one's.
    const cpuRatio = (name: string) => median(cpu.bareNest) / median(cpu[name]);
    options.log(
      `  users-service ÷ bare NestJS, median of the rounds' ratios: ${range(roundRatios)}; ` +
        `by CPU per request ${cpuRatio('users').toFixed(2)}`,
    );
    for (const other of figures.compared)
      options.log(
        `  build "${other.label}" ÷ bare NestJS: ${range(ratiosOf(`compare:${other.label}`))}; ` +
          `by CPU per request ${cpuRatio(`compare:${other.label}`).toFixed(2)}`,
      );
    options.log(
      `  bare NestJS ÷ node:http: ${range(runs.bareNest.map((run, round) => run.requestsPerSecond / runs.bareHttp[round].requestsPerSecond))}`,
    );
    return figures;
  } finally {
    for (const service of started.reverse()) await stopProcess(service.process);
    jwks.server.close();
    rmSync(scratchDir, { recursive: true, force: true });
  }
}

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on Linux). */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** @returns the user + system CPU time process `pid` has used, in microseconds; NaN without /proc */
export function cpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, so it is skipped by its closing parenthesis).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The run with the median throughput (its latencies come with it). */
export function medianRun(runs: LoadFigures[]): LoadFigures {
  const sorted = [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  return sorted[Math.floor(sorted.length / 2)];
}
