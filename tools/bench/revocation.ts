/**
 * What a verifier's in-process revocation list costs as the list grows
 * (issue #13): at each size, a fresh users-service (the real build) is
 * started against a revocation list of that many live entries, and measured
 * for its start (→ `/health/live`, → `/health/ready`, which waits for the
 * list's first full read), its memory (VmRSS), the Redis commands it sends
 * while idle, and its guarded/public throughput ratio.
 *
 * The entries are written by the issuer's own store code: the bench runs
 * `apps/auth-service/src/cli/fill-revocations.ts` (tools do not import apps),
 * which calls `RevocationStore.revokeToken`, so whatever layout the store
 * writes is the one measured. Everything runs against a private redis-server
 * started for the run (and stopped at its end, even on failure), so that
 * `INFO commandstats` counts only this run's verifier and the shared Redis is
 * never filled. Sizes are cumulative: each size adds entries to the last.
 *
 * The idle window defaults to 60 s because a verifier re-reads its whole
 * list every 60 s (`revocationResyncMs`) besides its 500 ms heartbeat: a
 * shorter window starting a few seconds after the first read would, on the
 * layout where that re-read costs two commands per entry, miss it every time
 * and report a rate that looks independent of the size.
 */
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RevocationList } from '@jwt-ms/auth-jwt';
import { TestTokenIssuer } from '@jwt-ms/auth-jwt/testing';
import { createRedisClient } from '@jwt-ms/service-core';
import { PrivateRedis, ROOT, stopProcess, waitUntil, type RunningService } from '@jwt-ms/testing';
import { installed } from './http-load';
import { alternateGuardedAndPublic } from './throughput';
import { startUsersService } from './users-service';
import { establishRevocationListAt, serveJwks } from './verifier-fixture';

/** The issuer's fixture that writes synthetic revocations through its RevocationStore. */
const FILL_SCRIPT = join(ROOT, 'apps/auth-service/src/cli/fill-revocations.ts');

/** Steady-state Redis traffic of one verifier, from `INFO commandstats` after `CONFIG RESETSTAT`. */
export interface IdleCommands {
  /** The window's length as measured, in milliseconds. */
  elapsedMs: number;
  /** Calls of every command in the window (the bench's own INFO / CONFIG RESETSTAT left out). */
  calls: Record<string, number>;
  /** All calls, scaled to one minute. */
  perMinute: number;
}

/** The guarded/public throughput of one verifier. */
export interface GuardedPublicRatio {
  /** guarded ÷ public requests per second of each round (a public run, then a guarded one). */
  roundRatios: number[];
  /** The median of {@link roundRatios}. */
  median: number;
  /** Median requests per second of each path. */
  publicRps: number;
  guardedRps: number;
  /**
   * The same ratio from CPU time: public ÷ guarded CPU per request (µs) of each round, the median. When the
   * service is what limits the run the two agree; on a shared machine this one moves far less.
   */
  byCpu: number;
  /** Median CPU time per request of each path, in microseconds. */
  publicCpuMicros: number;
  guardedCpuMicros: number;
  /** Responses that were not 2xx, or socket errors, over every run: any makes the ratio meaningless. */
  failed: number;
}

/** One list size's figures. */
export interface RevocationSizeFigures {
  /** Entries requested at this step (BENCH_REVOCATION_SIZES). */
  size: number;
  /** Entries written so far and not expired (each lives about an hour: longer than a run). */
  live: number;
  /** This step's fill: entries written, in how many seconds, and the rate per second; null when none was needed. */
  fill: { written: number; seconds: number; perSecond: number } | null;
  /** Spawn → first `GET /health/live` 200, in milliseconds; null when it never listened. */
  liveMs: number | null;
  /** Spawn → first `GET /health/ready` 200 (the list read in full), in milliseconds; null when not within the timeout. */
  readyMs: number | null;
  /** The full read itself, in milliseconds, as the verifier logged it (`revocation list read in full: …`); null if not logged. */
  fullReadMs: number | null;
  /** Why the size is incomplete (not ready, never listened); null when it got ready. */
  failure: string | null;
  /** VmRSS in bytes, the settle time after ready (or at the timeout when not ready). */
  rssBytes: number;
  /** VmHWM in bytes: the peak resident set so far (the full read's garbage included). */
  peakRssBytes: number;
  /** Whether a token bearing the `jti` the last fill wrote got 401 once ready; null when nothing was written or not ready. */
  sampleRefused: boolean | null;
  /** Redis's `used_memory`, in bytes, at this size. */
  redisUsedMemory: number;
  commands: IdleCommands | null;
  ratio: GuardedPublicRatio | null;
}

/** Everything the revocation section measured. */
export interface RevocationFigures {
  rows: RevocationSizeFigures[];
  /** Sizes requested but not measured: a smaller one did not get ready. */
  skipped: number[];
  readyTimeoutSeconds: number;
  /** The whole section's wall time, in milliseconds. */
  totalMs: number;
  /** The in-process cost of one revocation check (three lookups), by list size. */
  checkCost: CheckCost[];
}

/** What one `RevocationList.check` costs at a size, measured in this process (tokens never revoked: every lookup runs). */
export interface CheckCost {
  size: number;
  /** Median nanoseconds per check over the rounds. */
  nanosPerCheck: number;
}

interface Options {
  /** Live entries at each step, ascending; 0 (the baseline) is measured first whether listed or not. */
  sizes: number[];
  /** Length of the steady-state window, in seconds. */
  idleSeconds: number;
  /** Spawn → ready deadline per size, in seconds. */
  readyTimeoutSeconds: number;
  /** Wait between ready and the RSS reading, in seconds. */
  settleSeconds: number;
  /** Seconds per load run. */
  seconds: number;
  /** Alternating public/guarded rounds. */
  rounds: number;
  connections: number;
  log: (line: string) => void;
}

/**
 * Runs the section: one private Redis, fills cumulatively, one fresh
 * users-service per size (stopped before the next). A size that does not
 * get ready within the timeout is recorded as such and ends the run (bigger
 * sizes are skipped).
 *
 * @throws Error when redis-server or the fill fails, or a service exits unexpectedly
 */
export async function benchRevocation(options: Options): Promise<RevocationFigures> {
  const startedAt = performance.now();
  const sizes = [...new Set([0, ...options.sizes])].sort((a, b) => a - b);
  const scratchDir = mkdtempSync(join(tmpdir(), 'jwtms-bench-revocation-'));
  const pin = installed('taskset', ['-V']) ? ['taskset', '-c', '0'] : [];
  const redis = new PrivateRedis();
  let admin: ReturnType<typeof createRedisClient> | null = null;
  let jwks: Awaited<ReturnType<typeof serveJwks>> | null = null;
  try {
    await redis.start();
    await establishRevocationListAt(redis.url);
    admin = createRedisClient(redis.url);
    const client = admin;
    await waitUntil(() => client.isReady, 'the bench connection to the private Redis', 10_000);
    const issuer = await TestTokenIssuer.create({ algorithms: ['ES256'], audience: ['users-service'] });
    const served = await serveJwks(issuer);
    jwks = served;
    const tokens = await Promise.all(Array.from({ length: 100 }, () => issuer.mint()));
    options.log(
      `  private redis-server ${redis.url}; service on core 0, load on core 1; ready timeout ` +
        `${options.readyTimeoutSeconds} s, RSS read ${options.settleSeconds} s after ready, idle window ${options.idleSeconds} s`,
    );

    const rows: RevocationSizeFigures[] = [];
    let live = 0;
    let lastJti: string | null = null;
    for (const [index, size] of sizes.entries()) {
      let fill: RevocationSizeFigures['fill'] = null;
      if (size > live) {
        const result = await fillRevocations(redis.url, size - live);
        fill = { written: result.written, seconds: result.seconds, perSecond: result.perSecond };
        lastJti = result.lastJti;
        live = size;
      }
      const usedMemory = await redisUsedMemory(client);
      const row = await measureSize({
        size,
        live,
        fill,
        usedMemory,
        lastJti,
        start: () =>
          startUsersService({
            alg: 'ES256',
            issuer: issuer.issuer,
            jwksUrl: served.url,
            redisUrl: redis.url,
            cacheSize: 10_000,
            scratchDir,
            prefix: pin,
          }),
        mint: (jti) => issuer.mint({ claims: { jti } }),
        admin: client,
        tokens,
        scratchDir,
        options,
      });
      rows.push(row);
      options.log(describe(row, rows[0]));
      if (row.failure !== null) {
        const skipped = sizes.slice(index + 1);
        if (skipped.length > 0) options.log(`  skipped (a smaller size did not get ready): ${skipped.join(', ')}`);
        return {
          rows,
          skipped,
          readyTimeoutSeconds: options.readyTimeoutSeconds,
          totalMs: performance.now() - startedAt,
          checkCost: [],
        };
      }
    }
    const checkCost = sizes.map((size) => ({ size, nanosPerCheck: measureCheckCost(size) }));
    options.log(
      `  RevocationList.check in this process (fresh token strings, never revoked): ` +
        checkCost.map((cost) => `${sizeLabel(cost.size)} ${cost.nanosPerCheck.toFixed(0)} ns`).join(', '),
    );
    return {
      rows,
      skipped: [],
      readyTimeoutSeconds: options.readyTimeoutSeconds,
      totalMs: performance.now() - startedAt,
      checkCost,
    };
  } finally {
    admin?.destroy();
    jwks?.server.close();
    await redis.stop();
    rmSync(scratchDir, { recursive: true, force: true });
  }
}

interface SizeRun {
  size: number;
  live: number;
  fill: RevocationSizeFigures['fill'];
  usedMemory: number;
  lastJti: string | null;
  start: () => Promise<RunningService>;
  /** A valid token with this `jti`. */
  mint: (jti: string) => Promise<string>;
  admin: ReturnType<typeof createRedisClient>;
  tokens: string[];
  scratchDir: string;
  options: Options;
}

/** One size: start, ready, RSS, idle commands, throughput ratio; the service is stopped before it returns. */
async function measureSize(run: SizeRun): Promise<RevocationSizeFigures> {
  const { options } = run;
  const row: RevocationSizeFigures = {
    size: run.size,
    live: run.live,
    fill: run.fill,
    liveMs: null,
    readyMs: null,
    fullReadMs: null,
    failure: null,
    rssBytes: Number.NaN,
    peakRssBytes: Number.NaN,
    sampleRefused: null,
    redisUsedMemory: run.usedMemory,
    commands: null,
    ratio: null,
  };
  const spawnedAt = performance.now();
  const deadline = spawnedAt + options.readyTimeoutSeconds * 1000;
  let service: RunningService;
  try {
    service = await run.start();
  } catch (error) {
    // launchScript gives up (and kills the process) when it does not listen within 30 s.
    row.failure = `did not listen: ${(error as Error).message.split('\n')[0]}`;
    return row;
  }
  const pid = service.process.pid ?? 0;
  try {
    if (await pollUntil(`${service.url}/health/live`, deadline)) row.liveMs = performance.now() - spawnedAt;
    if (await pollUntil(`${service.url}/health/ready`, deadline)) row.readyMs = performance.now() - spawnedAt;
    else row.failure = `not ready in ${options.readyTimeoutSeconds} s`;
    const logged = /revocation list read in full: \d+ live entries in (\d+) ms/.exec(service.output.join(''));
    row.fullReadMs = logged ? Number(logged[1]) : null;
    if (row.failure === null) await delay(options.settleSeconds * 1000);
    [row.rssBytes, row.peakRssBytes] = [procStatus(pid, 'VmRSS'), procStatus(pid, 'VmHWM')];
    if (row.failure === null && run.lastJti !== null) {
      const token = await run.mint(run.lastJti);
      row.sampleRefused = (await status(`${service.url}/whoami`, token)) === 401;
    }
    // Only the verifier talks to this Redis now (nothing polls its readiness; the bench's connection is idle).
    row.commands = await idleCommands(run.admin, options.idleSeconds);
    if (row.failure !== null) return row;
    const runs = await alternateGuardedAndPublic(service, {
      seconds: options.seconds,
      rounds: options.rounds,
      connections: options.connections,
      tokens: run.tokens,
      scratchDir: run.scratchDir,
    });
    row.ratio = ratioOf(runs);
    return row;
  } catch (error) {
    if (service.process.exitCode !== null || service.process.signalCode !== null) {
      throw new Error(`users-service exited at ${run.size} entries:\n${service.output.join('').slice(-2000)}`);
    }
    throw error;
  } finally {
    await stopProcess(service.process);
  }
}

/** Runs the issuer's fill CLI. @throws Error (with its stderr) when it fails */
async function fillRevocations(
  redisUrl: string,
  count: number,
): Promise<{ written: number; seconds: number; perSecond: number; lastJti: string }> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', FILL_SCRIPT, redisUrl, String(count)], {
      cwd: ROOT,
      env: { ...process.env, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.base.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`fill-revocations exited ${code}: ${stderr || stdout}`)),
    );
  });
  const match = /wrote (\d+) revocations in ([\d.]+) s \((\d+)\/s\); last jti (\S+)/.exec(out);
  if (!match || Number(match[1]) !== count) throw new Error(`fill-revocations printed something unexpected: ${out}`);
  return { written: Number(match[1]), seconds: Number(match[2]), perSecond: Number(match[3]), lastJti: match[4] };
}

/** CONFIG RESETSTAT, a window of `seconds` (timed with the monotonic clock), then INFO commandstats. */
async function idleCommands(admin: ReturnType<typeof createRedisClient>, seconds: number): Promise<IdleCommands> {
  await admin.configResetStat();
  const from = performance.now();
  await delay(seconds * 1000);
  const info = await admin.info('commandstats');
  const elapsedMs = performance.now() - from;
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    // The bench's own: the reset (counted once it ran) and this INFO (counted after its reply) never show.
    if (match[1] === 'config|resetstat' || match[1] === 'info') continue;
    calls[match[1]] = Number(match[2]);
  }
  const total = Object.values(calls).reduce((a, b) => a + b, 0);
  return { elapsedMs, calls, perMinute: (total * 60_000) / elapsedMs };
}

async function redisUsedMemory(admin: ReturnType<typeof createRedisClient>): Promise<number> {
  return Number(/^used_memory:(\d+)/m.exec(await admin.info('memory'))?.[1] ?? Number.NaN);
}

function ratioOf(runs: Awaited<ReturnType<typeof alternateGuardedAndPublic>>): GuardedPublicRatio {
  const roundRatios = runs.guarded.map(
    (guarded, round) => guarded.requestsPerSecond / runs.public[round].requestsPerSecond,
  );
  const cpu = runs.cpuMicrosPerRequest;
  const all = [...runs.public, ...runs.guarded];
  return {
    roundRatios,
    median: median(roundRatios),
    byCpu: median(cpu.guarded.map((guarded, round) => cpu.public[round] / guarded)),
    publicCpuMicros: median(cpu.public),
    guardedCpuMicros: median(cpu.guarded),
    publicRps: median(runs.public.map((run) => run.requestsPerSecond)),
    guardedRps: median(runs.guarded.map((run) => run.requestsPerSecond)),
    failed: all.reduce((sum, run) => sum + run.non2xx + run.errors, 0),
  };
}

/**
 * Interval between two probes while waiting for live or ready, in milliseconds. Not waitUntil's 10 ms: each
 * `/health/ready` costs the service a Redis PING (on the connection its full read uses) and a database
 * ping, and at 10⁶ entries 100 probes a second on its core were enough to push the read's batches past
 * their 1 s timeout, again and again, so it never got ready; a 100 ms cadence is the resolution of the times.
 */
const PROBE_INTERVAL_MS = 100;

/**
 * GETs `url` every {@link PROBE_INTERVAL_MS} (one request at a time) until it answers 200.
 *
 * @param deadline on the `performance.now()` clock, in milliseconds
 * @returns whether it answered 200 before the deadline
 */
async function pollUntil(url: string, deadline: number): Promise<boolean> {
  for (;;) {
    const sentAt = performance.now();
    if ((await status(url)) === 200) return true;
    if (performance.now() >= deadline) return false;
    await delay(Math.max(0, PROBE_INTERVAL_MS - (performance.now() - sentAt)));
  }
}

/** @returns the HTTP status of a GET (0 when it failed or took over 2 s: a busy event loop) */
async function status(url: string, token?: string): Promise<number> {
  try {
    const response = await fetch(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(2000),
    });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/** A field of /proc/<pid>/status given in kB (VmRSS, VmHWM), in bytes; NaN without /proc. */
function procStatus(pid: number, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** `1000000` → `10⁶`; other numbers as they are. */
export function sizeLabel(size: number): string {
  const exponent = Math.log10(size);
  if (size >= 10 && Number.isInteger(exponent)) {
    const superscript = '⁰¹²³⁴⁵⁶⁷⁸⁹';
    return `10${[...String(exponent)].map((digit) => superscript[Number(digit)]).join('')}`;
  }
  return String(size);
}

/** RSS above the empty list's, per entry, in bytes; null when not comparable. */
export function bytesPerEntry(row: RevocationSizeFigures, empty: RevocationSizeFigures): number | null {
  if (row.size === 0 || row.failure !== null || empty.failure !== null) return null;
  return (row.rssBytes - empty.rssBytes) / row.size;
}

/** The top `count` commands by calls, per minute: `get 120, ping 120`. */
function topCommands(commands: IdleCommands, count: number): string {
  return Object.entries(commands.calls)
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, calls]) => `${name} ${Math.round((calls * 60_000) / commands.elapsedMs)}`)
    .join(', ');
}

const MB = 1024 * 1024;

/** `0.5` → `+0.50`, `-0.5` → `−0.50`. */
function signed(value: number, digits: number): string {
  return `${value < 0 ? '−' : '+'}${Math.abs(value).toFixed(digits)}`;
}

/** The lines printed once a size is measured. */
function describe(row: RevocationSizeFigures, empty: RevocationSizeFigures): string {
  const lines = [`  ${sizeLabel(row.size)} entries:`];
  if (row.fill) {
    lines.push(
      `    fill: ${row.fill.written} revocations through RevocationStore.revokeToken in ${row.fill.seconds.toFixed(1)} s (${row.fill.perSecond}/s); Redis used_memory ${(row.redisUsedMemory / MB).toFixed(1)} MB`,
    );
  }
  const ms = (value: number | null) => (value === null ? '–' : `${Math.round(value)} ms`);
  lines.push(
    `    start → live ${ms(row.liveMs)}, → ready ${row.failure ?? ms(row.readyMs)} (full read logged: ${ms(row.fullReadMs)}); RSS ${(row.rssBytes / MB).toFixed(1)} MB` +
      ` (peak ${(row.peakRssBytes / MB).toFixed(1)} MB)` +
      (row.sampleRefused === null
        ? ''
        : `; token with the last written jti ${row.sampleRefused ? 'refused (401)' : 'NOT refused'}`),
  );
  const perEntry = bytesPerEntry(row, empty);
  if (perEntry !== null) lines.push(`    RSS above the empty list: ${perEntry.toFixed(0)} B/entry`);
  if (row.commands) {
    const every = Object.entries(row.commands.calls)
      .sort((a, b) => b[1] - a[1])
      .map(([name, calls]) => `${name} ${calls}`)
      .join(', ');
    lines.push(
      `    idle ${(row.commands.elapsedMs / 1000).toFixed(2)} s: ${Math.round(row.commands.perMinute)} commands/min (calls: ${every || 'none'})`,
    );
  }
  if (row.ratio) {
    lines.push(
      `    guarded/public ${row.ratio.median.toFixed(3)} (rounds ${row.ratio.roundRatios.map((r) => r.toFixed(3)).join(', ')}; ` +
        `public ${Math.round(row.ratio.publicRps)}, guarded ${Math.round(row.ratio.guardedRps)} req/s); ` +
        `by CPU per request ${row.ratio.byCpu.toFixed(3)} (public ${row.ratio.publicCpuMicros.toFixed(1)}, ` +
        `guarded ${row.ratio.guardedCpuMicros.toFixed(1)} µs/req)` +
        (row.ratio.failed > 0 ? `; ${row.ratio.failed} answers not 2xx or failed: the ratio is void` : ''),
    );
  }
  return lines.join('\n');
}

/** The summary table, one line per size measured (and one per size skipped). */
export function revocationTable(figures: RevocationFigures): string[] {
  const empty = figures.rows[0];
  const header = [
    'size',
    'live',
    'ready (full read)',
    'RSS MB',
    'B/entry above 0',
    'commands/min (top commands)',
    'guarded/public',
  ];
  const widths = [6, 10, 22, 7, 16, 50, 22];
  const line = (cells: string[]) =>
    `  ${cells.map((cell, index) => (index < 2 || index === 3 || index === 4 ? cell.padStart(widths[index]) : cell.padEnd(widths[index]))).join('  ')}`;
  const out = [line(header)];
  for (const row of figures.rows) {
    const ready =
      row.failure !== null
        ? row.failure
        : `${((row.readyMs ?? 0) / 1000).toFixed(2)} s` +
          (row === empty ? '' : ` (${signed(((row.readyMs ?? 0) - (empty.readyMs ?? 0)) / 1000, 2)} s)`);
    const perEntry = bytesPerEntry(row, empty);
    const mark = row.sampleRefused === null ? '' : row.sampleRefused ? ' ✓' : ' ✘';
    out.push(
      line([
        sizeLabel(row.size),
        `${row.live}${mark}`,
        ready,
        (row.rssBytes / MB).toFixed(1),
        perEntry === null ? '–' : perEntry.toFixed(0),
        row.commands ? `${Math.round(row.commands.perMinute)} (${topCommands(row.commands, 3)})` : '–',
        row.ratio
          ? `${row.ratio.median.toFixed(3)} (CPU ${row.ratio.byCpu.toFixed(3)})${row.ratio.failed > 0 ? ' void' : ''}`
          : '–',
      ]),
    );
  }
  for (const size of figures.skipped) out.push(line([sizeLabel(size), '–', 'skipped', '–', '–', '–', '–']));
  out.push(
    '  live ✓: a token bearing the last jti written was refused (401) once ready; ready: spawn → /health/ready 200, ' +
      '(± against the empty list); commands: per minute in the idle window, the verifier alone on its Redis; ' +
      "guarded/public: median of the rounds' throughput ratios (CPU: from CPU time per request)",
  );
  return out;
}

/**
 * Nanoseconds per `RevocationList.check` with `size` token entries held: what the hot path pays for the list's
 * size, apart from everything else a request costs. Tokens are made fresh per check (as a request parses them), and
 * never revoked, so all three lookups run. Median of 5 rounds of 200,000 checks.
 */
function measureCheckCost(size: number): number {
  const list = new RevocationList({ maxEntries: Math.max(size, 1) });
  const expiresAtMs = Date.now() + 3_600_000;
  for (let index = 0; index < size; index += 1) list.add({ kind: 'token', id: randomUUID(), expiresAtMs });
  const ids = Array.from({ length: 4096 }, () => randomUUID());
  const rounds: number[] = [];
  let revoked = 0;
  for (let round = 0; round < 5; round += 1) {
    const started = process.hrtime.bigint();
    for (let index = 0; index < 200_000; index += 1) {
      const id = ids[index & 4095];
      // Slices copy the text, so each check hashes a string V8 has not seen, as a request's parsed claims are.
      const token = { jti: id.slice(1) + 'a', sid: id.slice(2) + 'b', sub: id.slice(3) + 'c', authTime: 1 };
      if (list.check(token) !== null) revoked += 1;
    }
    rounds.push(Number(process.hrtime.bigint() - started) / 200_000);
  }
  if (revoked !== 0) throw new Error('a token never revoked was found revoked');
  return rounds.sort((a, b) => a - b)[2];
}
