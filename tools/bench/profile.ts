/**
 * `npm run bench -- profile [public|guarded|bare-nest]`: a CPU profile of the
 * real users-service build under load, and where its time goes. The service
 * runs pinned to core 0 with cpu-profile.preload.js; after a warm-up, the
 * profile covers `seconds` of wrk (or autocannon) load on core 1 against
 * `GET /health/live` (public), `GET /whoami` with repeating ES256 tokens
 * (guarded, cache hits), or the bare NestJS + Fastify app's `GET /health/live`
 * (bare-nest, the floor the public path is compared with). Busy time per
 * request, not requests per second, is the figure to compare: it does not
 * depend on what else the machine runs meanwhile. The profile is kept, its
 * path printed, for Chrome DevTools or `cpu-profile.ts`.
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestTokenIssuer } from '@jwt-ms/auth-jwt/testing';
import { ROOT, launchScript, stopProcess, type RunningService } from '@jwt-ms/testing';
import { formatProfileSummary, summariseCpuProfile } from './cpu-profile';
import { installed, runLoad } from './http-load';
import { startUsersService } from './users-service';
import { establishRevocationListAt, serveJwks } from './verifier-fixture';

/** What `npm run bench -- profile` can put under load. */
export const PROFILE_TARGETS = ['public', 'guarded', 'bare-nest'] as const;

interface Options {
  target: (typeof PROFILE_TARGETS)[number];
  /** Seconds of load the profile covers. */
  seconds: number;
  connections: number;
  redisUrl: string;
  log: (line: string) => void;
}

/**
 * Profiles users-service under load and prints the summary.
 *
 * @returns the `.cpuprofile`'s path (under dist/bench-profiles/)
 * @throws Error when the service does not write its profile within 30 s
 */
export async function profileUsersService(options: Options): Promise<string> {
  const scratchDir = mkdtempSync(join(tmpdir(), 'jwtms-bench-profile-'));
  const outDir = join(ROOT, 'dist/bench-profiles');
  mkdirSync(outDir, { recursive: true });
  const file = join(
    outDir,
    `users-service-${options.target}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`,
  );
  const issuer = await TestTokenIssuer.create({ algorithms: ['ES256'], audience: ['users-service'] });
  const jwks = await serveJwks(issuer);
  let service: RunningService | undefined;
  try {
    await establishRevocationListAt(options.redisUrl);
    const prefix = installed('taskset', ['-V']) ? ['taskset', '-c', '0'] : [];
    const preload = ['--require', join(ROOT, 'tools/bench/cpu-profile.preload.js')];
    service =
      options.target === 'bare-nest'
        ? await launchScript(
            'bare-nest',
            ['-r', '@swc-node/register', ...preload, join(ROOT, 'tools/bench/bare-nest-service.ts')],
            { SWC_NODE_PROJECT: join(ROOT, 'tsconfig.base.json'), PORT: '0', BENCH_CPU_PROFILE: file },
            undefined,
            prefix,
          )
        : await startUsersService({
            alg: 'ES256',
            issuer: issuer.issuer,
            jwksUrl: jwks.url,
            redisUrl: options.redisUrl,
            cacheSize: 10_000,
            scratchDir,
            prefix,
            nodeFlags: preload,
            env: { BENCH_CPU_PROFILE: file },
          });
    const tokens =
      options.target === 'guarded' ? await Promise.all(Array.from({ length: 100 }, () => issuer.mint())) : [];
    const load = {
      url: `${service.url}${options.target === 'guarded' ? '/whoami' : '/health/live'}`,
      connections: options.connections,
      core: 1,
      scratchDir,
      tokens,
    };
    await runLoad({ ...load, seconds: 3 });
    await signalAndWait(service, 'cpu profile started');
    const figures = await runLoad({ ...load, seconds: options.seconds });
    await signalAndWait(service, 'cpu profile written');
    if (figures.non2xx > 0) throw new Error(`${figures.non2xx} answers were not 2xx`);
    options.log(
      `users-service ${options.target}: ${Math.round(figures.requestsPerSecond)} req/s while profiled (${figures.tool}); profile ${file}`,
    );
    const requests = Math.round(figures.requestsPerSecond * options.seconds);
    for (const line of formatProfileSummary(summariseCpuProfile(file), requests)) options.log(line);
    return file;
  } finally {
    await stopProcess(service?.process);
    jwks.server.close();
    rmSync(scratchDir, { recursive: true, force: true });
  }
}

/** Sends SIGWINCH to the service and waits for the preload to print `line`. */
async function signalAndWait(service: RunningService, line: string): Promise<void> {
  const seen = () =>
    service.output
      .join('')
      .split('\n')
      .filter((text) => text === line).length;
  const before = seen();
  service.process.kill('SIGWINCH');
  const deadline = Date.now() + 30_000;
  while (seen() === before) {
    if (Date.now() > deadline) throw new Error(`users-service did not print "${line}":\n${service.output.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
