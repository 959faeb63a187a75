/**
 * Signature verification cost per algorithm: the shared library's whole
 * pre-Redis pipeline (header checks, key lookup by kid, signature and
 * registered claims, required claims) against a bare `crypto.verify` of the
 * same token with the same key, measured in one run on this machine.
 *
 *   npm run bench
 *
 * Prints microseconds per token and the ratio lib/raw (goal: ≤ 1.2).
 */
import 'reflect-metadata';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { TestTokenIssuer } from '@jwt-ms/auth-jwt/testing';
import { SigningKeyResolver, checkHeader, resolveOptions, toPrincipal, verifyJws } from '@jwt-ms/auth-jwt';
import type { SigningAlgorithm } from '@jwt-ms/contracts';

const ITERATIONS = Number(process.env['BENCH_ITERATIONS'] ?? 4000);
const ROUNDS = 5;

async function measure(label: string, iterations: number, work: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < Math.min(500, iterations); i += 1) await work(); // warm-up
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const started = performance.now();
    for (let i = 0; i < iterations; i += 1) await work();
    samples.push(((performance.now() - started) * 1000) / iterations);
  }
  samples.sort((a, b) => a - b);
  void label;
  return samples[Math.floor(samples.length / 2)]; // median µs per operation
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${ITERATIONS} tokens × ${ROUNDS} rounds per figure (median), µs per token\n`);
  console.log('alg     raw crypto.verify   shared lib   ratio (goal ≤ 1.2)');
  for (const alg of ['ES256', 'RS256', 'EdDSA'] as SigningAlgorithm[]) {
    const issuer = await TestTokenIssuer.create({ algorithms: [alg], audience: ['users-service'] });
    const token = await issuer.mint();
    const options = resolveOptions({
      issuer: issuer.issuer,
      audience: 'users-service',
      keys: { localJwks: () => issuer.jwks },
      algorithms: [alg],
      redisUrl: 'redis://unused',
    });
    const resolver = new SigningKeyResolver(options);
    const [head, body, signature] = token.split('.');
    const input = Buffer.from(`${head}.${body}`);
    const signatureBytes = Buffer.from(signature, 'base64url');
    const rawKey = createPublicKey({ key: issuer.keys[0].publicJwk as never, format: 'jwk' });
    const digest = alg === 'EdDSA' ? null : 'sha256';
    const rawOptions = alg === 'ES256' ? { key: rawKey, dsaEncoding: 'ieee-p1363' as const } : rawKey;
    if (!cryptoVerify(digest, input, rawOptions, signatureBytes)) throw new Error('raw verify failed');

    const jwtOptions = {
      issuer: options.issuer,
      audience: options.audience,
      algorithms: options.algorithms,
      clockTolerance: 5,
    };
    const viaLibrary = async () => {
      const key = await resolver.resolve(checkHeader(token, options));
      const payload = await new Promise((resolve, reject) =>
        verifyJws(token, key, jwtOptions, (error, claims) => (error ? reject(error) : resolve(claims))),
      );
      return toPrincipal(payload, 5);
    };
    await viaLibrary(); // proves the token verifies before it is timed

    const iterations = alg === 'RS256' ? ITERATIONS * 2 : ITERATIONS;
    const raw = await measure('raw', iterations, () => cryptoVerify(digest, input, rawOptions, signatureBytes));
    const library = await measure('lib', iterations, viaLibrary);
    console.log(
      `${alg.padEnd(7)} ${raw.toFixed(1).padStart(10)} µs   ${library.toFixed(1).padStart(8)} µs   ${(library / raw).toFixed(2)}`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
