import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '@jwt-ms/contracts';
import { ConfigError } from '@jwt-ms/service-core';
import { nowSeconds, rotateKeySet, type RotationResult } from '../keys/key-rotation';
import { readKeySetFile, writeKeySet } from '../keys/signing-key-set';
import { inClusterApi, rotateKubeSecret, type KubeApi } from './kube-secret';

const USAGE =
  'usage: keys:rotate -- (--file FILE | --kube-secret NAMESPACE/NAME [--key signing-jwks.json] [--api-server URL]) [--alg ES256|RS256|EdDSA] [--lead SECONDS] [--access-ttl SECONDS]\n';

/**
 * The key rotation command (`npm run keys:rotate`, and `node main.js keys:rotate`
 * in the auth-service image, which the CronJob runs). It rotates the set by
 * the service's own rules (`rotateKeySet`) either in a file (`--file`) or in a
 * Kubernetes Secret through the API server (`--kube-secret`, in-cluster service
 * account; or `--api-server URL` without a token, e.g. `kubectl proxy`'s
 * http://127.0.0.1:8001). Prints kids and times only, never key material.
 *
 * @param argv the arguments after the command name
 * @param io where to write, and (for tests) the API server to use instead of the in-cluster one
 * @returns the exit code: 0 rotated, 1 failed (nothing rotated), 2 bad usage
 */
export async function runRotateKeys(
  argv: string[],
  io: { out: (line: string) => void; err: (line: string) => void; api?: KubeApi } = {
    out: (line) => process.stdout.write(line),
    err: (line) => process.stderr.write(line),
  },
): Promise<number> {
  const option = (name: string, fallback?: string): string | undefined => {
    const index = argv.indexOf(`--${name}`);
    return index >= 0 ? argv[index + 1] : fallback;
  };
  const file = option('file');
  const secret = option('kube-secret');
  const alg = option('alg', 'ES256') as SigningAlgorithm;
  const lead = Number(option('lead', '900'));
  const ttl = Number(option('access-ttl', '900'));
  if (
    Boolean(file) === Boolean(secret) ||
    !SIGNING_ALGORITHMS.includes(alg) ||
    !Number.isInteger(lead) ||
    lead < 0 ||
    !Number.isInteger(ttl) ||
    ttl < 1
  ) {
    io.err(USAGE);
    return 2;
  }
  let result: RotationResult;
  try {
    if (secret) {
      const apiServer = option('api-server');
      const api = io.api ?? (apiServer ? { baseUrl: apiServer.replace(/\/+$/, '') } : inClusterApi());
      const rotated = await rotateKubeSecret(api, {
        secret,
        key: option('key'),
        alg,
        leadSeconds: lead,
        accessTokenTtlSeconds: ttl,
      });
      if (rotated.conflicts > 0) io.out(`secret ${secret} changed meanwhile ${rotated.conflicts} time(s); re-read\n`);
      result = rotated;
    } else {
      result = rotateKeySet(readKeySetFile(file as string), {
        alg,
        now: nowSeconds(),
        leadSeconds: lead,
        accessTokenTtlSeconds: ttl,
      });
      writeKeySet(file as string, result.set);
    }
  } catch (error) {
    io.err(
      `keys:rotate: ${error instanceof ConfigError ? error.problems.join('; ') : error instanceof Error ? error.message : String(error)}; nothing was rotated\n`,
    );
    return 1;
  }
  const at = (seconds: number) => new Date(seconds * 1000).toISOString();
  io.out(`new key ${result.kid} (${alg}) published now, signs from ${at(result.signsFrom)}\n`);
  for (const { kid, retiresAt } of result.retiring) io.out(`key ${kid} retires at ${at(retiresAt)}\n`);
  for (const kid of result.removed) io.out(`key ${kid} removed (retired)\n`);
  return 0;
}
