/**
 * Rotates a private signing key set file in place, with no failed request:
 * the new key is published at once and signs after the lead time; the old key
 * retires when its tokens have expired (see keys/key-rotation.ts).
 *
 *   npm run -s keys:rotate -- --file signing-jwks.json [--alg ES256] [--lead 900] [--access-ttl 900]
 *
 * Times in seconds. Auth replicas reading the same file (a Secret) pick the
 * change up within SIGNING_KEYS_RELOAD_SECONDS.
 */
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '@jwt-ms/contracts';
import { ConfigError } from '@jwt-ms/service-core';
import { nowSeconds, rotateKeySet } from '../keys/key-rotation';
import { readKeySetFile, writeKeySet } from '../keys/signing-key-set';

function option(name: string, fallback?: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

const file = option('file');
const alg = option('alg', 'ES256') as SigningAlgorithm;
const lead = Number(option('lead', '900'));
const ttl = Number(option('access-ttl', '900'));
if (
  !file ||
  !SIGNING_ALGORITHMS.includes(alg) ||
  !Number.isInteger(lead) ||
  lead < 0 ||
  !Number.isInteger(ttl) ||
  ttl < 1
) {
  process.stderr.write(
    'usage: keys:rotate -- --file FILE [--alg ES256|RS256|EdDSA] [--lead SECONDS] [--access-ttl SECONDS]\n',
  );
  process.exit(2);
}
let current: ReturnType<typeof readKeySetFile>;
try {
  current = readKeySetFile(file);
} catch (error) {
  process.stderr.write(`keys:rotate: ${error instanceof ConfigError ? error.problems.join('; ') : String(error)}\n`);
  process.exit(1);
}
const result = rotateKeySet(current, {
  alg,
  now: nowSeconds(),
  leadSeconds: lead,
  accessTokenTtlSeconds: ttl,
});
writeKeySet(file, result.set);
const at = (seconds: number) => new Date(seconds * 1000).toISOString();
process.stdout.write(`new key ${result.kid} (${alg}) published now, signs from ${at(result.signsFrom)}\n`);
for (const { kid, retiresAt } of result.retiring) process.stdout.write(`key ${kid} retires at ${at(retiresAt)}\n`);
for (const kid of result.removed) process.stdout.write(`key ${kid} removed (retired)\n`);
