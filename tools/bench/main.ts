/**
 * `npm run bench [-- verify|public|throughput|telemetry|propagation|downstream|bodies|revocation …]`: measures,
 * in one run on this machine, each figure the system has a goal for, and
 * prints it beside its goal. Every goal is a ratio (or a latency) measured in
 * the same run, so figures from different machines stay comparable.
 * `npm run bench -- profile [public|guarded|bare-nest]` (never part of the default run)
 * records a CPU profile of users-service under load and prints where its time
 * goes (profile.ts). docs/performance.md explains how to read the output.
 *
 * Needs the services built (`npm run build`; done first unless --no-build),
 * Redis, and for `propagation` PostgreSQL and HAProxy (as `npm run cluster`).
 * Uses Debian's `wrk` for throughput when installed (`apt-get install wrk`),
 * else autocannon, which saturates earlier: its figures are then a floor.
 *
 * Environment: BENCH_SECONDS (4) per throughput run, BENCH_THROUGHPUT_ROUNDS (3), BENCH_PUBLIC_ROUNDS (5), BENCH_PUBLIC_COMPARE (label=main.js,…: more users-service builds beside the public path's), BENCH_CONNECTIONS (16),
 * BENCH_ITERATIONS (4000) tokens per verification round, BENCH_ROUNDS (200)
 * logouts for propagation, BENCH_REPLICAS (3), BENCH_BODY_REQUESTS (200) per hostile body, REDIS_URL,
 * CLUSTER_POSTGRES_URL, BENCH_PROFILE_SECONDS (10) of load while profiling. `public` compares users-service's
 * `GET /health/live` with a bare NestJS + Fastify app and bare node:http; `bodies` measures hostile request
 * bodies against a normal request.
 * `revocation` (revocation.ts) measures a verifier against revocation lists of BENCH_REVOCATION_SIZES
 * (0,10000,100000,1000000) live entries, written by the issuer's store code into a private redis-server:
 * start → ready (the list's full read), RSS per entry, idle Redis commands per minute over
 * BENCH_REVOCATION_IDLE_SECONDS (60: a whole minute, and the old layout's re-read period), guarded/public ratio over BENCH_REVOCATION_ROUNDS (5)
 * rounds; a size not ready within BENCH_REVOCATION_READY_TIMEOUT_SECONDS (120) ends it. About 8 minutes.
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { ROOT } from '@jwt-ms/testing';
import { installed } from './http-load';
import { benchBodies, type BodyFigures } from './bodies';
import { PROFILE_TARGETS, profileUsersService } from './profile';
import { benchPropagation, type PropagationFigures } from './propagation';
import { benchDownstream, type DownstreamFigures } from './downstream';
import { benchTelemetry, type TelemetryFigures } from './telemetry';
import { benchPublicPath, type PublicPathFigures } from './public-path';
import { benchRevocation, bytesPerEntry, revocationTable, sizeLabel, type RevocationFigures } from './revocation';
import { benchThroughput, type ThroughputFigures } from './throughput';
import { benchVerification, type VerifyFigures } from './verify';

const SECTIONS = [
  'verify',
  'public',
  'throughput',
  'telemetry',
  'propagation',
  'downstream',
  'bodies',
  'revocation',
] as const;
type Section = (typeof SECTIONS)[number];

const args = process.argv.slice(2);
const profiling = args[0] === 'profile';
const chosen = args.filter((arg): arg is Section => (SECTIONS as readonly string[]).includes(arg));
const unknown = profiling
  ? args.slice(1).filter((arg) => !arg.startsWith('--') && !(PROFILE_TARGETS as readonly string[]).includes(arg))
  : args.filter((arg) => !arg.startsWith('--') && !(SECTIONS as readonly string[]).includes(arg));
const sections: Section[] = chosen.length > 0 ? chosen : [...SECTIONS];
const numberFrom = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const log = (line: string) => process.stdout.write(`${line}\n`);

interface Verdict {
  goal: string;
  figure: string;
  met: boolean;
}

/** A hostile body may cost at most this many times a normal request ("a small multiple"). */
const HOSTILE_BODY_MAX_RATIO = 3;

/** The services' public path must keep at least this share of a bare NestJS + Fastify app's throughput. */
const PUBLIC_PATH_MIN_RATIO = 0.7;

/** Issue #13's goals for a verifier's revocation list, at the largest size. */
const REVOCATION_MAX_BYTES_PER_ENTRY = 100;
/** Longest full read at the largest size, in milliseconds (spawn → ready, beyond an empty list's). */
const REVOCATION_MAX_FULL_READ_MS = 5000;
/** "Independent of the size": idle commands per minute at the largest size at most this much above the empty list's. */
const REVOCATION_COMMANDS_TOLERANCE = 0.1;
/** The guarded/public ratio at the largest size within this share of the empty list's. */
const REVOCATION_RATIO_TOLERANCE = 0.02;

/**
 * Issue #13's four goals, checked at the largest size requested; a size that
 * was never measured (not ready, skipped) fails each with the reason.
 */
function revocationVerdicts(figures: RevocationFigures, largest: number): Verdict[] {
  const empty = figures.rows[0];
  const row = figures.rows.find((candidate) => candidate.size === largest);
  const at = sizeLabel(largest);
  const missing = row
    ? (row.failure ?? null)
    : `not measured (${figures.rows.find((candidate) => candidate.failure)?.failure ?? 'skipped'} at a smaller size)`;
  const fail = (goal: string, reason: string): Verdict => ({ goal, figure: reason, met: false });
  const out: Verdict[] = [];

  const memoryGoal = `verifier RSS above empty ≤ ${REVOCATION_MAX_BYTES_PER_ENTRY} B/entry at ${at}`;
  const perEntry = row ? bytesPerEntry(row, empty) : null;
  out.push(
    perEntry === null
      ? fail(memoryGoal, missing ?? 'no baseline')
      : { goal: memoryGoal, figure: `${perEntry.toFixed(0)} B/entry`, met: perEntry <= REVOCATION_MAX_BYTES_PER_ENTRY },
  );

  const readGoal = `full read ≤ ${REVOCATION_MAX_FULL_READ_MS / 1000} s at ${at} (as logged, else ready beyond empty's)`;
  if (!row || row.readyMs === null || empty.readyMs === null) out.push(fail(readGoal, missing ?? 'not ready'));
  else if (row.fullReadMs !== null) {
    out.push({
      goal: readGoal,
      figure: `${(row.fullReadMs / 1000).toFixed(2)} s (spawn → ready ${(row.readyMs / 1000).toFixed(2)} s)`,
      met: row.fullReadMs <= REVOCATION_MAX_FULL_READ_MS,
    });
  } else {
    const extra = row.readyMs - empty.readyMs;
    out.push({
      goal: readGoal,
      figure: `${(extra / 1000).toFixed(2)} s (spawn → ready ${(row.readyMs / 1000).toFixed(2)} s)`,
      met: extra <= REVOCATION_MAX_FULL_READ_MS,
    });
  }

  const commandsGoal = `idle Redis commands/min at ${at} ≤ ${1 + REVOCATION_COMMANDS_TOLERANCE}× at 0`;
  if (!row?.commands || !empty.commands || row.failure !== null)
    out.push(fail(commandsGoal, missing ?? 'not measured'));
  else {
    const [big, small] = [row.commands.perMinute, empty.commands.perMinute];
    out.push({
      goal: commandsGoal,
      figure: `${Math.round(big)}/min vs ${Math.round(small)}/min`,
      met: big <= small * (1 + REVOCATION_COMMANDS_TOLERANCE),
    });
  }

  const ratioGoal = `guarded/public at ${at} within ${REVOCATION_RATIO_TOLERANCE * 100}% of at 0`;
  if (!row?.ratio || !empty.ratio) out.push(fail(ratioGoal, missing ?? 'not measured'));
  else if (row.ratio.failed > 0 || empty.ratio.failed > 0) out.push(fail(ratioGoal, 'answers not 2xx: void'));
  else {
    const change = row.ratio.median / empty.ratio.median - 1;
    out.push({
      goal: ratioGoal,
      figure:
        `${row.ratio.median.toFixed(3)} vs ${empty.ratio.median.toFixed(3)} (${change >= 0 ? '+' : ''}${(change * 100).toFixed(1)}%; ` +
        `by CPU ${((row.ratio.byCpu / empty.ratio.byCpu - 1) * 100).toFixed(1)}%)`,
      met: Math.abs(change) <= REVOCATION_RATIO_TOLERANCE,
    });
  }
  return out;
}

function verdicts(
  verify?: VerifyFigures[],
  publicPath?: PublicPathFigures,
  throughput?: ThroughputFigures,
  propagation?: PropagationFigures,
  bodies?: BodyFigures[],
  downstream?: DownstreamFigures,
  telemetry?: TelemetryFigures,
): Verdict[] {
  const out: Verdict[] = [];
  const ratio = (a: number, b: number) => a / b;
  for (const row of verify ?? []) {
    const r = row.ratio; // the median of the interleaved rounds' ratios (see verify.ts)
    out.push({ goal: `${row.alg} verification ≤ 1.20× raw crypto.verify`, figure: `${r.toFixed(2)}×`, met: r <= 1.2 });
  }
  if (publicPath) {
    const r = publicPath.ratio;
    out.push({
      goal: `public path ÷ bare NestJS + Fastify ≥ ${PUBLIC_PATH_MIN_RATIO}`,
      figure: r.toFixed(2),
      met: r >= PUBLIC_PATH_MIN_RATIO,
    });
  }
  if (throughput) {
    const rowRatio = (row: ThroughputFigures['cached']) =>
      ratio(row.guarded.requestsPerSecond, row.public.requestsPerSecond);
    const cached = rowRatio(throughput.cached);
    out.push({ goal: 'guarded/public, tokens repeat ≥ 0.85', figure: cached.toFixed(3), met: cached >= 0.85 });
    const es = rowRatio(throughput.uncached.ES256);
    out.push({ goal: 'guarded/public, every token verified, ES256 ≥ 0.30', figure: es.toFixed(3), met: es >= 0.3 });
    const rs = rowRatio(throughput.uncached.RS256);
    out.push({ goal: 'guarded/public, every token verified, RS256 ≥ 0.55', figure: rs.toFixed(3), met: rs >= 0.55 });
    const naive = ratio(throughput.cached.guarded.requestsPerSecond, throughput.naive.guarded.requestsPerSecond);
    out.push({
      goal: 'guarded ÷ naive (jose + Redis GET), tokens repeat ≥ 3',
      figure: `${naive.toFixed(2)}×`,
      met: naive >= 3,
    });
  }
  if (propagation) {
    out.push({
      goal: 'revocation reaches every replica, p99 ≤ 50 ms',
      figure: `${propagation.p99Ms.toFixed(1)} ms`,
      met: propagation.p99Ms <= 50,
    });
    out.push({
      goal: 'an exchanged token dies with its session, p99 ≤ 50 ms',
      figure: `${propagation.exchanged.p99Ms.toFixed(1)} ms`,
      met: propagation.exchanged.p99Ms <= 50,
    });
  }
  if (telemetry) {
    out.push({
      goal: 'guarded throughput, metrics on ÷ off ≥ 0.95',
      figure: telemetry.ratio.toFixed(3),
      met: telemetry.ratio >= 0.95,
    });
  }
  if (downstream) {
    out.push({
      goal: 'order placement with the users call ÷ without ≥ 0.70',
      figure: downstream.ratio.toFixed(2),
      met: downstream.ratio >= 0.7,
    });
  }
  if (bodies) {
    const hostile = bodies.filter((row) => !row.label.includes('(baseline)'));
    const worst = hostile.reduce((a, b) => (b.ratio > a.ratio ? b : a));
    out.push({
      goal: `worst hostile body ≤ ${HOSTILE_BODY_MAX_RATIO}× a normal request (p50)`,
      figure: `${worst.ratio.toFixed(2)}× (${worst.service}, ${worst.label})`,
      met: worst.ratio <= HOSTILE_BODY_MAX_RATIO,
    });
    const largest = hostile.reduce((a, b) => (b.responseBytes > a.responseBytes ? b : a));
    out.push({
      goal: 'no problem answer above 2 KiB',
      figure: `${largest.responseBytes} B (${largest.label})`,
      met: largest.responseBytes <= 2048,
    });
  }
  return out;
}

async function main(): Promise<void> {
  if (unknown.length > 0) {
    process.stderr.write(`unknown section ${unknown.join(', ')}; choose from ${SECTIONS.join(', ')}\n`);
    process.exit(2);
  }
  if (!args.includes('--no-build') && (profiling || sections.some((s) => s !== 'verify'))) {
    const build = spawnSync(
      'npx',
      ['nx', 'run-many', '-t', 'build', '-p', 'auth-service', 'users-service', 'orders-service'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false', NX_TUI: 'false' },
      },
    );
    if (build.status !== 0) throw new Error('the build failed');
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  log(
    `machine: ${cpus().length} × ${cpu}, node ${process.version}, ${installed('wrk', ['-v']) ? 'wrk' : 'autocannon (wrk not installed)'}`,
  );

  if (profiling) {
    const target = PROFILE_TARGETS.find((name) => args.includes(name)) ?? 'public';
    await profileUsersService({
      target,
      seconds: numberFrom('BENCH_PROFILE_SECONDS', 10),
      connections: numberFrom('BENCH_CONNECTIONS', 16),
      redisUrl,
      log,
    });
    return;
  }

  let verify: VerifyFigures[] | undefined;
  let publicPath: PublicPathFigures | undefined;
  let throughput: ThroughputFigures | undefined;
  let propagation: PropagationFigures | undefined;
  if (sections.includes('verify')) {
    log('\n1. Verification cost per token: shared library vs raw crypto.verify');
    verify = await benchVerification(numberFrom('BENCH_ITERATIONS', 4000), log);
  }
  if (sections.includes('public')) {
    log(
      `\n2. The public path: GET /health/live, users-service against bare NestJS + Fastify and bare node:http; ` +
        `each pinned to core 0, load on core 1, ${numberFrom('BENCH_CONNECTIONS', 16)} connections; ` +
        `${numberFrom('BENCH_PUBLIC_ROUNDS', 5)} rounds of ${numberFrom('BENCH_SECONDS', 4)} s runs, each figure the median`,
    );
    publicPath = await benchPublicPath({
      compare: Object.fromEntries(
        (process.env['BENCH_PUBLIC_COMPARE'] ?? '')
          .split(',')
          .filter(Boolean)
          .map((entry) => [entry.split('=')[0], entry.slice(entry.indexOf('=') + 1)]),
      ),
      seconds: numberFrom('BENCH_SECONDS', 4),
      rounds: numberFrom('BENCH_PUBLIC_ROUNDS', 5),
      connections: numberFrom('BENCH_CONNECTIONS', 16),
      redisUrl,
      log,
    });
  }
  if (sections.includes('throughput')) {
    log(
      `\n3. users-service throughput: service on core 0, load on core 1, ${numberFrom('BENCH_CONNECTIONS', 16)} connections; ` +
        `median of ${numberFrom('BENCH_THROUGHPUT_ROUNDS', 3)} alternating ${numberFrom('BENCH_SECONDS', 4)} s runs`,
    );
    throughput = await benchThroughput({
      seconds: numberFrom('BENCH_SECONDS', 4),
      rounds: numberFrom('BENCH_THROUGHPUT_ROUNDS', 3),
      connections: numberFrom('BENCH_CONNECTIONS', 16),
      redisUrl,
      log,
    });
  }
  let telemetry: TelemetryFigures | undefined;
  if (sections.includes('telemetry')) {
    log(
      `\n3b. Telemetry's cost: guarded GET /whoami with metrics on (scraped each second) against METRICS=off, ` +
        `then with traces (every request, one in ten) against metrics alone; ` +
        `${numberFrom('BENCH_CONNECTIONS', 16)} connections, median of ${numberFrom('BENCH_THROUGHPUT_ROUNDS', 3)} ` +
        `alternating ${numberFrom('BENCH_SECONDS', 4)} s runs`,
    );
    telemetry = await benchTelemetry({
      seconds: numberFrom('BENCH_SECONDS', 4),
      rounds: numberFrom('BENCH_THROUGHPUT_ROUNDS', 3),
      connections: numberFrom('BENCH_CONNECTIONS', 16),
      redisUrl,
      log,
    });
  }
  if (sections.includes('propagation')) {
    log('\n4. Revocation propagation: logout answered → every users and orders replica refuses the token');
    propagation = await benchPropagation({
      rounds: numberFrom('BENCH_ROUNDS', 200),
      replicas: numberFrom('BENCH_REPLICAS', 3),
      redisUrl,
      postgresAdminUrl: process.env['CLUSTER_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      log,
    });
  }

  let downstream: DownstreamFigures | undefined;
  if (sections.includes('downstream')) {
    log(
      `\n4b. Order placement with orders' call to users on the customer's behalf (cached RFC 8693 exchange) ` +
        `against the call off; ${numberFrom('BENCH_CONNECTIONS', 16)} connections, median of ` +
        `${numberFrom('BENCH_THROUGHPUT_ROUNDS', 3)} alternating ${numberFrom('BENCH_SECONDS', 4)} s runs`,
    );
    downstream = await benchDownstream({
      seconds: numberFrom('BENCH_SECONDS', 4),
      rounds: numberFrom('BENCH_THROUGHPUT_ROUNDS', 3),
      connections: numberFrom('BENCH_CONNECTIONS', 16),
      customers: numberFrom('BENCH_CUSTOMERS', 50),
      redisUrl,
      log,
    });
  }

  let bodies: BodyFigures[] | undefined;
  if (sections.includes('bodies')) {
    log(
      '\n5. Hostile request bodies: each request alone on one connection, p50 against a valid body on the same service',
    );
    bodies = await benchBodies({ requests: numberFrom('BENCH_BODY_REQUESTS', 200), redisUrl, log });
  }

  let revocation: RevocationFigures | undefined;
  const revocationSizes = (process.env['BENCH_REVOCATION_SIZES'] ?? '0,10000,100000,1000000')
    .split(',')
    .map((size) => Number(size.trim()));
  if (sections.includes('revocation')) {
    if (revocationSizes.some((size) => !Number.isInteger(size) || size < 0)) {
      throw new Error('BENCH_REVOCATION_SIZES must be whole numbers of entries, comma-separated');
    }
    log(
      `\n6. The revocation list's cost at ${revocationSizes.map(sizeLabel).join(', ')} live entries ` +
        "(written by the issuer's store, cumulatively): one fresh users-service per size",
    );
    revocation = await benchRevocation({
      sizes: revocationSizes,
      idleSeconds: numberFrom('BENCH_REVOCATION_IDLE_SECONDS', 60),
      readyTimeoutSeconds: numberFrom('BENCH_REVOCATION_READY_TIMEOUT_SECONDS', 120),
      settleSeconds: 3,
      seconds: numberFrom('BENCH_SECONDS', 4),
      rounds: numberFrom('BENCH_REVOCATION_ROUNDS', 5),
      connections: numberFrom('BENCH_CONNECTIONS', 16),
      log,
    });
    log('');
    for (const line of revocationTable(revocation)) log(line);
    log(`  section time ${(revocation.totalMs / 60_000).toFixed(1)} min`);
  }

  log('\nGoals, each measured in this run:');
  const results = verdicts(verify, publicPath, throughput, propagation, bodies, downstream, telemetry);
  if (revocation) results.push(...revocationVerdicts(revocation, Math.max(0, ...revocationSizes)));
  for (const verdict of results) {
    log(`  ${verdict.met ? '✔' : '✘'} ${verdict.goal.padEnd(58)} ${verdict.figure}`);
  }
  log(`${results.filter((v) => v.met).length} of ${results.length} goals met`);
}

main().catch((error: Error) => {
  process.stderr.write(`bench failed: ${error.message}\n`);
  process.exit(1);
});
