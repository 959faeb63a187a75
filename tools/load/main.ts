/**
 * `npm run load -- <journey> [--duration 20] [--connections 16]`: runs one
 * load journey (see journeys.ts) with autocannon against one address that
 * routes every API by path: LOAD_URL (a Kubernetes ingress), else the ingress
 * of the cluster this checkout runs (`npm run cluster`, data/cluster/state.json),
 * else http://127.0.0.1:8080. Login-heavy journeys default to 4 connections.
 * Prints requests/s, latency p50/p95/p99, counts per status and the
 * journey's own checks, and exits 1 when a threshold is broken.
 *
 * The generator pins itself to core LOAD_CPU (default 1, with `taskset`) so
 * that it competes less with the services (pin those with `taskset -c 0`).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventEmitter } from 'node:events';
import autocannon = require('autocannon');
import { build as histogram } from 'hdr-histogram-js';
import { JOURNEYS } from './journeys';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const journeyName = args.find((arg) => !arg.startsWith('--') && !/^\d+$/.test(arg));
const duration = flag('duration', 20);
const baseUrl = (process.env['LOAD_URL'] ?? runningClusterIngress() ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const log = (line: string) => process.stdout.write(`${line}\n`);

/** The ingress of the cluster `npm run cluster` runs from this checkout, if any (data/cluster/state.json). */
function runningClusterIngress(): string | undefined {
  try {
    return (
      JSON.parse(readFileSync(join(__dirname, '../../data/cluster/state.json'), 'utf8')) as { ingressUrl?: string }
    ).ingressUrl;
  } catch {
    return undefined;
  }
}

function usage(): never {
  log('usage: npm run load -- <journey> [--duration seconds] [--connections n]\n\njourneys:');
  for (const [name, journey] of Object.entries(JOURNEYS)) log(`  ${name.padEnd(14)} ${journey.description}`);
  process.exit(2);
}

/** Re-runs this process pinned to one core, unless it already is or taskset is missing. */
function pinToCore(): void {
  if (process.env['LOAD_PINNED'] === '1') return;
  const core = process.env['LOAD_CPU'] ?? '1';
  const result = spawnSync('taskset', ['-c', core, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, LOAD_PINNED: '1' },
  });
  if (result.error) return; // no taskset: run unpinned
  process.exit(result.status ?? 1);
}

async function preflight(): Promise<void> {
  try {
    const jwks = await fetch(`${baseUrl}/.well-known/jwks.json`);
    const orders = await fetch(`${baseUrl}/orders`);
    if (jwks.status !== 200 || orders.status !== 401) throw new Error(`answers ${jwks.status} and ${orders.status}`);
  } catch (error) {
    log(
      `✘ ${baseUrl} does not serve the system (${(error as Error).message}): start \`npm run cluster\`, ` +
        'or point LOAD_URL at an address that routes /auth, /users and /orders (a Kubernetes ingress)',
    );
    process.exit(1);
  }
}

async function main(): Promise<void> {
  if (!journeyName || !JOURNEYS[journeyName] || !(duration > 0)) usage();
  const journey = JOURNEYS[journeyName];
  const connections = flag('connections', journey.connections ?? 16);
  if (!(connections > 0)) usage();
  pinToCore();
  await preflight();
  const context = { baseUrl, runId: Date.now().toString(36), connections, log };
  log(`${journeyName}: ${journey.description}`);
  log(
    `  target ${baseUrl}, ${connections} connections, ${duration} s, autocannon ${process.env['LOAD_PINNED'] ? `on core ${process.env['LOAD_CPU'] ?? '1'}` : 'unpinned'}`,
  );
  const prepared = await journey.prepare(context);

  const latencies = histogram({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  // Without a callback, autocannon returns its tracker: an EventEmitter that is also a promise of the result.
  const instance = autocannon({
    url: baseUrl,
    connections,
    duration,
    requests: prepared.requests,
  }) as unknown as EventEmitter & PromiseLike<autocannon.Result>;
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTimeMs: number) => {
    latencies.recordValue(Math.max(1, Math.round(responseTimeMs * 1000))); // microseconds
  });
  const midway = prepared.midway
    ? new Promise<void>((resolve, reject) =>
        setTimeout(() => prepared.midway?.().then(resolve, reject), (duration * 1000) / 3),
      )
    : Promise.resolve();
  const [result] = await Promise.all([instance, midway]);

  const statuses = Object.fromEntries(
    Object.entries(result.statusCodeStats as Record<string, { count: number }>).map(([status, { count }]) => [
      status,
      count,
    ]),
  );
  const errors = result.errors + result.timeouts;
  const ms = (percentile: number) => (latencies.getValueAtPercentile(percentile) / 1000).toFixed(1);
  log(`\n  requests/s     ${result.requests.average.toFixed(0)} (${result.requests.total} requests)`);
  log(
    `  latency        p50 ${ms(50)} ms   p95 ${ms(95)} ms   p99 ${ms(99)} ms   max ${(latencies.maxValue / 1000).toFixed(1)} ms`,
  );
  log(
    `  statuses       ${
      Object.entries(statuses)
        .map(([status, count]) => `${status}: ${count}`)
        .join('   ') || 'none'
    }`,
  );
  log(`  errors         ${result.errors} connection errors, ${result.timeouts} timeouts`);
  for (const [name, count] of Object.entries(prepared.violations)) log(`  ${name.padEnd(14)} ${count}`);
  if (result.requests.average > 6000) {
    log('  note: autocannon on one core saturates near 7–10k requests/s; for raw throughput use `npm run bench` (wrk)');
  }
  if ((statuses['429'] ?? 0) > 0) {
    log(
      '  note: 429s are the login rate limits; start the system with AUTH_RATE_LIMIT_PER_IP, AUTH_RATE_LIMIT_PER_ACCOUNT and AUTH_TOKEN_RATE_LIMIT_PER_IP raised',
    );
  }
  const broken = [
    ...prepared.thresholds(statuses, errors),
    ...Object.entries(prepared.violations)
      .filter(([, count]) => count > 0)
      .map(([name, count]) => `${name}: ${count}`),
  ];
  log(
    broken.length === 0
      ? '\n✔ thresholds held'
      : `\n✘ thresholds broken:\n${broken.map((b) => `  - ${b}`).join('\n')}`,
  );
  process.exit(broken.length === 0 ? 0 : 1);
}

main().catch((error: Error) => {
  log(`✘ ${journeyName}: ${error.message}`);
  process.exit(1);
});
