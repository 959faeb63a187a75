/**
 * What telemetry costs on the guarded path: the real users-service build
 * answering `GET /whoami` with a valid token, with metrics on (the default:
 * the request histogram and the verifier's counters, `GET /metrics` scraped
 * meanwhile as Prometheus would) against the same build with `METRICS=off`;
 * then tracing (OpenTelemetry, OTLP/HTTP protobuf to a receiver in this
 * process) with every request sampled, and with one in ten
 * (`parentbased_traceidratio`, a usual production setting), against metrics
 * alone. All measured alternately in the same run, each service pinned to
 * core 0 and the load generator to core 1.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestTokenIssuer } from '@jwt-ms/auth-jwt/testing';
import { stopProcess, type RunningService } from '@jwt-ms/testing';
import { formatLoad, installed, medianLoad, runLoad, type LoadFigures } from './http-load';
import { startUsersService } from './users-service';
import { establishRevocationListAt, serveJwks } from './verifier-fixture';

/** The median run of each configuration, and their ratios. */
export interface TelemetryFigures {
  metricsOn: LoadFigures;
  metricsOff: LoadFigures;
  /** metricsOn / metricsOff requests per second (the goal: at least 0.95, a loss of at most 5%). */
  ratio: number;
  /** Metrics on and every request traced and exported. */
  tracedAll: LoadFigures;
  /** Metrics on and one request in ten traced. */
  tracedTenth: LoadFigures;
  /** tracedAll / metricsOn requests per second. */
  tracingAllRatio: number;
  /** tracedTenth / metricsOn requests per second. */
  tracingTenthRatio: number;
  /** OTLP export requests the receiver took in during the runs (proof that the traced services did export). */
  exportsReceived: number;
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
  // An OTLP/HTTP receiver that takes in the export and counts it: the service's cost is what is measured.
  let exports = 0;
  const receiver = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      exports += 1;
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const otlp = {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
  };
  const started: RunningService[] = [];
  const start = async (metrics: 'on' | 'off', env: Record<string, string> = {}) => {
    const service = await startUsersService({
      alg: 'ES256',
      issuer: issuer.issuer,
      jwksUrl: jwks.url,
      redisUrl: options.redisUrl,
      cacheSize: 10_000,
      scratchDir,
      prefix: pin,
      env: { METRICS: metrics, ...env },
    });
    started.push(service);
    return service;
  };
  let scraper: NodeJS.Timeout | undefined;
  try {
    const on = await start('on');
    const off = await start('off');
    const tracedAll = await start('on', otlp);
    const tracedTenth = await start('on', {
      ...otlp,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
    });
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
    for (const service of [on, off, tracedAll, tracedTenth]) await load(service, 1);
    const exportsBefore = exports;
    const runs = {
      on: [] as LoadFigures[],
      off: [] as LoadFigures[],
      all: [] as LoadFigures[],
      tenth: [] as LoadFigures[],
    };
    for (let round = 0; round < options.rounds; round += 1) {
      runs.off.push(await load(off, options.seconds));
      runs.on.push(await load(on, options.seconds));
      runs.all.push(await load(tracedAll, options.seconds));
      runs.tenth.push(await load(tracedTenth, options.seconds));
    }
    const metricsOn = medianLoad(runs.on);
    const metricsOff = medianLoad(runs.off);
    const all = medianLoad(runs.all);
    const tenth = medianLoad(runs.tenth);
    const non2xx = metricsOn.non2xx + metricsOff.non2xx + all.non2xx + tenth.non2xx;
    if (non2xx > 0) throw new Error(`${non2xx} responses were not 2xx`);
    if (exports === exportsBefore) throw new Error('the traced services exported nothing: tracing was not on');
    const figures: TelemetryFigures = {
      metricsOn,
      metricsOff,
      ratio: metricsOn.requestsPerSecond / metricsOff.requestsPerSecond,
      tracedAll: all,
      tracedTenth: tenth,
      tracingAllRatio: all.requestsPerSecond / metricsOn.requestsPerSecond,
      tracingTenthRatio: tenth.requestsPerSecond / metricsOn.requestsPerSecond,
      exportsReceived: exports - exportsBefore,
    };
    options.log(`  metrics off                ${formatLoad(metricsOff)}`);
    options.log(`  metrics on                 ${formatLoad(metricsOn)}   on/off ${figures.ratio.toFixed(3)}`);
    options.log(`  + traces, every request    ${formatLoad(all)}   ÷ metrics on ${figures.tracingAllRatio.toFixed(3)}`);
    options.log(
      `  + traces, one in ten       ${formatLoad(tenth)}   ÷ metrics on ${figures.tracingTenthRatio.toFixed(3)}` +
        `   (${figures.exportsReceived} OTLP exports received)`,
    );
    return figures;
  } finally {
    if (scraper) clearInterval(scraper);
    receiver.closeAllConnections();
    receiver.close();
    await Promise.all(started.map((service) => stopProcess(service.process)));
    jwks.server.close();
    rmSync(scratchDir, { recursive: true, force: true });
  }
}
