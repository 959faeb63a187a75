/**
 * What a hostile request body costs the service, against a normal request
 * measured in the same run: the real users-service and orders-service builds
 * (dist/apps/*), pinned to core 0 when `taskset` is there, each request sent
 * alone on one keep-alive connection so that its latency is the service's
 * own work (parsing, validation, the answer). Without the body caps, a
 * 64 KiB body of 6,500 unknown members costs 20 times a normal request and
 * answers 400 KiB.
 */
import { Agent, request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestTokenIssuer } from '@jwt-ms/auth-jwt/testing';
import { ROOT, launchScript, stopProcess, type RunningService } from '@jwt-ms/testing';
import { installed } from './http-load';
import { establishRevocationListAt, serveJwks } from './verifier-fixture';

/** One body's figures. */
export interface BodyFigures {
  service: 'users-service' | 'orders-service';
  label: string;
  /** The status every answer had (the run fails if they differ). */
  status: number;
  /** Size of the body sent and of the answer, in bytes. */
  requestBytes: number;
  responseBytes: number;
  /** Per-request latency, in milliseconds. */
  p50Ms: number;
  p99Ms: number;
  /** p50 ÷ the baseline's p50 (the valid body on the same service). */
  ratio: number;
}

interface Options {
  /** Requests per body (after 20 warm-up requests). */
  requests: number;
  redisUrl: string;
  log: (line: string) => void;
}

interface Case {
  label: string;
  method: 'PATCH' | 'POST';
  path: string;
  body: string;
  baseline?: true;
}

/** `{"m0":0,…}`: `count` unknown members beside `extra`'s, padded by name length to about `bytes`. */
function unknownMembers(count: number, extra: Record<string, unknown>): string {
  const body: Record<string, unknown> = { ...extra };
  for (let index = 0; index < count; index += 1) body[`m${index}`] = 0;
  return JSON.stringify(body);
}

/** The bodies: a normal one first (the baseline), then the worst each defence has to stop, near 64 KiB where it can be. */
function casesOf(service: 'users-service' | 'orders-service'): Case[] {
  if (service === 'users-service') {
    const patch = (label: string, body: string, baseline?: true): Case => ({
      label,
      method: 'PATCH',
      path: '/users/me',
      body,
      baseline,
    });
    return [
      patch('valid displayName (baseline)', JSON.stringify({ displayName: 'Ada' }), true),
      patch('one invalid field', JSON.stringify({ displayName: 5 })),
      patch('6,500 unknown members (64 KiB)', unknownMembers(6500, { displayName: 'Ada' })),
      patch('255 unknown members (the most under the value cap)', unknownMembers(254, { displayName: 'Ada' })),
      patch('one name repeated 3,000 times (60 KiB)', `{${Array(3000).fill('"displayName":"Ada"').join(',')}}`),
      patch(
        'one name repeated 250 times (under the value cap)',
        `{${Array(250).fill('"displayName":"Ada"').join(',')}}`,
      ),
      patch('nesting 30,000 deep (60 KiB)', `{"displayName":${'['.repeat(30_000)}${']'.repeat(30_000)}}`),
      patch('a 60 KiB string', JSON.stringify({ displayName: 'a'.repeat(60_000) })),
    ];
  }
  const item = { sku: 'sku-1', quantity: 1, unitPriceCents: 100 };
  const post = (label: string, body: string, baseline?: true): Case => ({
    label,
    method: 'POST',
    path: '/orders',
    body,
    baseline,
  });
  return [
    post('valid order of 20 items (baseline)', JSON.stringify({ items: Array(20).fill(item) }), true),
    post('254 empty items (nested validation, most under the cap)', JSON.stringify({ items: Array(254).fill({}) })),
    post(
      '63 items, every field wrong (189 nested errors)',
      JSON.stringify({ items: Array(63).fill({ sku: 1, quantity: 0, unitPriceCents: -1 }) }),
    ),
    post('6,000 empty items (48 KiB)', JSON.stringify({ items: Array(6000).fill({}) })),
  ];
}

/**
 * Measures every body of {@link casesOf} on users-service and orders-service.
 *
 * @returns one row per body, each with its ratio to its service's baseline
 * @throws Error when a body's answers do not all have the same status, or the baseline is not a 2xx
 */
export async function benchBodies(options: Options): Promise<BodyFigures[]> {
  const scratchDir = mkdtempSync(join(tmpdir(), 'jwtms-bench-bodies-'));
  const pin = installed('taskset', ['-V']) ? ['taskset', '-c', '0'] : [];
  const issuer = await TestTokenIssuer.create({ algorithms: ['ES256'] });
  const jwks = await serveJwks(issuer);
  await establishRevocationListAt(options.redisUrl);
  const token = await issuer.mint();
  const rows: BodyFigures[] = [];
  try {
    for (const name of ['users-service', 'orders-service'] as const) {
      const service: RunningService = await launchScript(
        name,
        [join(ROOT, 'dist/apps', name, 'main.js')],
        {
          NODE_ENV: 'development',
          HOST: '127.0.0.1',
          PORT: '0',
          REDIS_URL: options.redisUrl,
          SQLITE_PATH: join(scratchDir, `${name}.sqlite`),
          AUTH_ISSUER: issuer.issuer,
          AUTH_JWKS_URI: jwks.url,
          AUTH_ALGORITHMS: 'ES256',
        },
        undefined,
        pin,
      );
      // One connection: each request waits for the previous answer, so nothing queues behind it.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        let baselineMs = 0;
        for (const body of casesOf(name)) {
          const url = new URL(`${service.url}${body.path}`);
          const send = () =>
            new Promise<{ ms: number; status: number; bytes: number }>((resolve, reject) => {
              const started = process.hrtime.bigint();
              const outgoing = request(
                {
                  host: url.hostname,
                  port: url.port,
                  path: url.pathname,
                  method: body.method,
                  agent,
                  headers: {
                    authorization: `Bearer ${token}`,
                    'content-type': 'application/json',
                    'content-length': Buffer.byteLength(body.body),
                  },
                },
                (response) => {
                  let bytes = 0;
                  response.on('data', (chunk: Buffer) => (bytes += chunk.length));
                  response.on('end', () =>
                    resolve({
                      ms: Number(process.hrtime.bigint() - started) / 1e6,
                      status: response.statusCode ?? 0,
                      bytes,
                    }),
                  );
                },
              );
              outgoing.on('error', reject);
              outgoing.end(body.body);
            });
          for (let warm = 0; warm < 20; warm += 1) await send();
          const samples = [];
          for (let index = 0; index < options.requests; index += 1) samples.push(await send());
          const statuses = new Set(samples.map((sample) => sample.status));
          if (statuses.size !== 1) throw new Error(`${name} ${body.label}: answers with statuses ${[...statuses]}`);
          const times = samples.map((sample) => sample.ms).sort((a, b) => a - b);
          const p50Ms = times[Math.floor(times.length / 2)];
          if (body.baseline) {
            if (samples[0].status >= 300) throw new Error(`${name} baseline answered ${samples[0].status}`);
            baselineMs = p50Ms;
          }
          const row: BodyFigures = {
            service: name,
            label: body.label,
            status: samples[0].status,
            requestBytes: Buffer.byteLength(body.body),
            responseBytes: samples[0].bytes,
            p50Ms,
            p99Ms: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))],
            ratio: p50Ms / baselineMs,
          };
          rows.push(row);
          options.log(
            `  ${name.padEnd(15)} ${row.label.padEnd(56)} ${String(row.status)}  ${String(row.requestBytes).padStart(6)} B → ${String(row.responseBytes).padStart(5)} B  p50 ${row.p50Ms.toFixed(2)} p99 ${row.p99Ms.toFixed(2)} ms  ${row.ratio.toFixed(2)}×`,
          );
        }
      } finally {
        agent.destroy();
        await stopProcess(service.process);
      }
    }
    return rows;
  } finally {
    jwks.server.close();
    rmSync(scratchDir, { recursive: true, force: true });
  }
}
