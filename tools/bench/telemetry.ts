/**
 * What telemetry costs on the guarded path: the real users-service build
 * answering `GET /whoami` with a valid token, with metrics on (the default:
 * the request histogram and the verifier's counters, `GET /metrics` scraped
 * meanwhile as Prometheus would) against the same build with `METRICS=off`,
 * measured alternately in the same run, the service pinned to core 0 and the
 * load generator to core 1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestTokenIssuer } from '@jwt-ms/auth-jwt/testing';
import { stopProcess, type RunningService } from '@jwt-ms/testing';
import { installed, runLoad, type LoadFigures } from './http-load';
import { startUsersService } from './users-service';
import { establishRevocationListAt, serveJwks } from './verifier-fixture';

/** The median run of each configuration, and their ratio. */
export interface TelemetryFigures {
  metricsOn: LoadFigures;
  metricsOff: LoadFigures;
  /** metricsOn / metricsOff requests per second (the goal: at least 0.95, a loss of at most 5%). */
  ratio: number;
}

interface Options {
  /** Seconds per load run. */
  seconds: number;
  /** Alternating rounds; each figure is the median run. */
  rounds: number;
  connections: number;
  redisUrl: string;
  log: (line: string) => void;
}

/**
 * @throws Error when a service does not start, a response is not 2xx, or the load generator fails
 */
export async function benchTelemetry(options: Options): Promise<TelemetryFigures> {
  const scratchDir = mkdtempSync(join(tmpdir(), 'jwtms-bench-telemetry-'));
  await establishRevocationListAt(options.redisUrl);
  const pin = installed('taskset', ['-V']) ? ['taskset', '-c', '0'] : [];
  const issuer = await TestTokenIssuer.create({ algorithms: ['ES256'], audience: ['users-service'] });
  const jwks = await serveJwks(issuer);
  const tokens = await Promise.all(Array.from({ length: 100 }, () => issuer.mint()));
  const started: RunningService[] = [];
  const start = async (metrics: 'on' | 'off') => {
    const service = await startUsersService({
      alg: 'ES256',
      issuer: issuer.issuer,
      jwksUrl: jwks.url,
      redisUrl: options.redisUrl,
      cacheSize: 10_000,
      scratchDir,
      prefix: pin,
      env: { METRICS: metrics },
    });
    started.push(service);
    return service;
  };
  let scraper: NodeJS.Timeout | undefined;
  try {
    const on = await start('on');
    const off = await start('off');
    // Scraped every second, as a Prometheus with a 1 s interval would (15 s to 60 s is usual): the rendering counts.
    scraper = setInterval(
      () =>
        void fetch(`${on.url}/metrics`).then(
          (response) => response.text(),
          () => '',
        ),
      1000,
    );
    const load = (service: RunningService, seconds: number) =>
      runLoad({ url: `${service.url}/whoami`, seconds, connections: options.connections, tokens, core: 1, scratchDir });
    await load(on, 1);
    await load(off, 1);
    const runs = { on: [] as LoadFigures[], off: [] as LoadFigures[] };
    for (let round = 0; round < options.rounds; round += 1) {
      runs.off.push(await load(off, options.seconds));
      runs.on.push(await load(on, options.seconds));
    }
    const figures = { metricsOn: median(runs.on), metricsOff: median(runs.off), ratio: 0 };
    if (figures.metricsOn.non2xx + figures.metricsOff.non2xx > 0) {
      throw new Error(`${figures.metricsOn.non2xx + figures.metricsOff.non2xx} responses were not 2xx`);
    }
    figures.ratio = figures.metricsOn.requestsPerSecond / figures.metricsOff.requestsPerSecond;
    options.log(`  metrics off  ${fmt(figures.metricsOff)}`);
    options.log(`  metrics on   ${fmt(figures.metricsOn)}   on/off ${figures.ratio.toFixed(3)}`);
    return figures;
  } finally {
    if (scraper) clearInterval(scraper);
    await Promise.all(started.map((service) => stopProcess(service.process)));
    jwks.server.close();
    rmSync(scratchDir, { recursive: true, force: true });
  }
}

function median(runs: LoadFigures[]): LoadFigures {
  const sorted = [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  const middle = sorted[Math.floor(sorted.length / 2)];
  return { ...middle, non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0) };
}

function fmt(figures: LoadFigures): string {
  return `${Math.round(figures.requestsPerSecond).toString().padStart(6)} req/s p50 ${figures.p50Ms.toFixed(2)} p99 ${figures.p99Ms.toFixed(2)} ms`;
}
