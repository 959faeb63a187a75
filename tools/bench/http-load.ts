/**
 * Drives HTTP load from this machine and reads back throughput and latency:
 * Debian's `wrk` when installed (one C thread: 20–40k requests/s here, so it
 * is not the bottleneck), else autocannon (Node; saturates near 7–10k
 * requests/s on one core, so its figures are a floor, and the report says so).
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon = require('autocannon');

/** What one load run measured. */
export interface LoadFigures {
  /** Which generator produced them. */
  tool: 'wrk' | 'autocannon';
  /** Completed requests per second. */
  requestsPerSecond: number;
  /** Completed requests in the whole run. */
  requests: number;
  /** Latency percentiles, in milliseconds. */
  p50Ms: number;
  p99Ms: number;
  /** Responses that were not 2xx, and socket errors. */
  non2xx: number;
  errors: number;
}

/**
 * One load run: GET `url` (or POST `json`) for `seconds` over `connections` connections, optionally
 * with a bearer token per request.
 */
export interface LoadRun {
  url: string;
  /** A JSON body: the run POSTs it (`Content-Type: application/json`) instead of GETting. */
  json?: string;
  seconds: number;
  connections: number;
  /** Tokens sent round-robin as `Authorization: Bearer …`; none for a public endpoint. */
  tokens?: string[];
  /** CPU core to pin the generator to (`taskset`), when available. */
  core?: number;
  /** Folder for the generator's scratch files (the token list, wrk's script). */
  scratchDir: string;
}

/** The run with the median throughput (its latencies come with it); non-2xx summed over all runs. */
export function medianLoad(runs: LoadFigures[]): LoadFigures {
  const sorted = [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  return { ...sorted[Math.floor(sorted.length / 2)], non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0) };
}

/** One run as the report prints it: requests per second, p50 and p99 in milliseconds. */
export function formatLoad(figures: LoadFigures): string {
  return `${Math.round(figures.requestsPerSecond).toString().padStart(6)} req/s p50 ${figures.p50Ms.toFixed(2)} p99 ${figures.p99Ms.toFixed(2)} ms`;
}

/** @returns whether `command` runs here */
export function installed(command: string, args = ['--version']): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return !result.error;
}

/**
 * Runs the load with wrk if installed, else autocannon.
 *
 * @throws Error when the generator fails
 */
export async function runLoad(run: LoadRun): Promise<LoadFigures> {
  return installed('wrk', ['-v']) ? runWrk(run) : runAutocannon(run);
}

const WRK_SCRIPT = `
local tokens = {}
local file = os.getenv("BENCH_TOKENS")
if file then for line in io.lines(file) do tokens[#tokens + 1] = line end end
local body = nil
local bodyFile = os.getenv("BENCH_BODY")
if bodyFile then local f = io.open(bodyFile, "r"); body = f:read("*a"); f:close() end
local method = body and "POST" or "GET"
local i = 0
request = function()
  local headers = {}
  if body then headers["Content-Type"] = "application/json" end
  if #tokens > 0 then
    i = i % #tokens + 1
    headers["Authorization"] = "Bearer " .. tokens[i]
  end
  return wrk.format(method, nil, headers, body)
end
`;

async function runWrk(run: LoadRun): Promise<LoadFigures> {
  const script = join(run.scratchDir, 'bench.lua');
  writeFileSync(script, WRK_SCRIPT);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (run.tokens?.length) {
    const file = join(run.scratchDir, 'tokens.txt');
    writeFileSync(file, `${run.tokens.join('\n')}\n`);
    env['BENCH_TOKENS'] = file;
  } else delete env['BENCH_TOKENS'];
  if (run.json !== undefined) {
    const file = join(run.scratchDir, 'body.json');
    writeFileSync(file, run.json);
    env['BENCH_BODY'] = file;
  } else delete env['BENCH_BODY'];
  const wrkArgs = ['-t1', `-c${run.connections}`, `-d${run.seconds}s`, '--latency', '-s', script, run.url];
  const pinned = run.core !== undefined && installed('taskset', ['-V']);
  const [command, ...args] = pinned ? ['taskset', '-c', String(run.core), 'wrk', ...wrkArgs] : ['wrk', ...wrkArgs];
  // Asynchronous: this process may itself serve something the target needs meanwhile (a JWKS).
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(command, args, { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`wrk failed: ${stderr || stdout}`))));
  });
  const number = (pattern: RegExp) => Number(pattern.exec(out)?.[1] ?? 'NaN');
  return {
    tool: 'wrk',
    requestsPerSecond: number(/Requests\/sec:\s+([\d.]+)/),
    requests: number(/(\d+) requests in /),
    p50Ms: wrkLatencyMs(out, '50%'),
    p99Ms: wrkLatencyMs(out, '99%'),
    non2xx: number(/Non-2xx or 3xx responses:\s+(\d+)/) || 0,
    errors: (/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)?.slice(1) ?? [])
      .map(Number)
      .reduce((a, b) => a + b, 0),
  };
}

/** wrk prints `50%  812.00us` or `99%    2.10ms`. */
function wrkLatencyMs(out: string, percentile: string): number {
  const match = new RegExp(`^\\s+${percentile}\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
  if (!match) return Number.NaN;
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
}

async function runAutocannon(run: LoadRun): Promise<LoadFigures> {
  let next = 0;
  const tokens = run.tokens ?? [];
  const result = await autocannon({
    url: run.url,
    connections: run.connections,
    duration: run.seconds,
    ...(run.json !== undefined
      ? { method: 'POST' as const, body: run.json, headers: { 'content-type': 'application/json' } }
      : {}),
    requests: [
      {
        setupRequest: (request) => {
          if (tokens.length === 0) return request;
          next = (next + 1) % tokens.length;
          return { ...request, headers: { ...request.headers, authorization: `Bearer ${tokens[next]}` } };
        },
      },
    ],
  });
  return {
    tool: 'autocannon',
    requestsPerSecond: result.requests.average,
    requests: result.requests.total,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}
