/**
 * A benchmark fixture: writes synthetic access-token revocations into a Redis
 * database through the issuer's own {@link RevocationStore} (so the layout
 * written is the real one, whatever it is), for `npm run bench -- revocation`
 * to measure a verifier against a list of a given size.
 *
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register \
 *     apps/auth-service/src/cli/fill-revocations.ts <redis-url> <count> \
 *     [--concurrency 2000] [--expires-in-seconds 3600]
 *
 * Each entry revokes a random `jti` (a v4 UUID, RFC 7519 §4.1.7) as if its
 * token expired `--expires-in-seconds` seconds from now (default 3600: the
 * entries outlive a bench run; verifiers cap lifetimes at 24 h), so it lives
 * that long plus the store's margin. `--concurrency` writes are kept in flight
 * at once (default 2000), so that node-redis pipelines them.
 *
 * There is no default database: the URL argument is required, so that the
 * fixture never fills a Redis by accident (the entries are real revocations
 * of the issuer's layout and stay until they expire). Prints one line on
 * stdout: `wrote <n> revocations in <s> s (<n/s>/s); last jti <uuid>`
 * (the last `jti` is not a secret: it names a synthetic token nobody holds).
 * Exits 2 on bad arguments, 1 when Redis is unreachable or a write fails.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { createRedisClient } from '@jwt-ms/service-core';
import { RevocationStore } from '../revocation/revocation.store';

/** How long to wait for the first connection, in milliseconds. */
const CONNECT_TIMEOUT_MS = 10_000;

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: fill-revocations <redis-url> <count> [--concurrency N] [--expires-in-seconds S]\n`,
  );
  process.exit(2);
}

/** @returns the value after `--name` as a positive whole number, or `fallback` when the flag is absent */
function flag(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isInteger(value) || value <= 0) usage(`--${name} must be a positive whole number`);
  return value;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const positional = args.filter((arg, index) => !arg.startsWith('--') && !args[index - 1]?.startsWith('--'));
  const [url, countArg] = positional;
  if (!url || !/^rediss?:\/\//.test(url)) usage('the first argument must be a redis:// or rediss:// URL');
  const count = Number(countArg);
  if (!Number.isInteger(count) || count < 0) usage('the second argument must be a whole number of entries');
  const concurrency = flag(args, 'concurrency', 2000);
  const expiresInSeconds = flag(args, 'expires-in-seconds', 3600);

  const redis = createRedisClient(url);
  try {
    if (!redis.isReady) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no connection to Redis within ${CONNECT_TIMEOUT_MS} ms`)),
          CONNECT_TIMEOUT_MS,
        );
        redis.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    // No view: this process verifies nothing, and a view would hold every entry in memory.
    const store = new RevocationStore(redis, null);
    const expiresAt = Math.floor(Date.now() / 1000) + expiresInSeconds;
    const startedAt = performance.now();
    let issued = 0;
    let last = '';
    const worker = async () => {
      while (issued < count) {
        issued += 1;
        const jti = randomUUID();
        await store.revokeToken(jti, expiresAt);
        last = jti;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    const seconds = (performance.now() - startedAt) / 1000;
    const rate = seconds > 0 ? Math.round(count / seconds) : 0;
    process.stdout.write(
      `wrote ${count} revocations in ${seconds.toFixed(2)} s (${rate}/s); last jti ${last || 'none'}\n`,
    );
  } finally {
    redis.destroy();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`fill-revocations failed: ${error.message}\n`);
  process.exit(1);
});
