/**
 * Signature verification cost per algorithm: the shared library's whole
 * verification before revocation (header checks, key lookup by `kid`,
 * signature, registered and required claims) against a bare `crypto.verify`
 * of the same token with the same key, measured in one run on this machine.
 */
import 'reflect-metadata';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { TestTokenIssuer } from '@jwt-ms/auth-jwt/testing';
import { SigningKeyResolver, checkHeader, resolveOptions, toPrincipal, verifyJws } from '@jwt-ms/auth-jwt';
import type { SigningAlgorithm } from '@jwt-ms/contracts';

const ROUNDS = 5;

/** One algorithm's figures, in microseconds per token. */
export interface VerifyFigures {
  alg: SigningAlgorithm;
  rawMicros: number;
  libraryMicros: number;
}

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

/**
 * @param iterations tokens per round (RS256 gets twice as many: it is faster); the figure is the median of 5 rounds
 * @param log where to print each algorithm's line
 */
export async function benchVerification(iterations: number, log: (line: string) => void): Promise<VerifyFigures[]> {
  const figures: VerifyFigures[] = [];
  log(`  ${iterations} tokens × ${ROUNDS} rounds per figure (median), µs per token`);
  log('  alg     raw crypto.verify   shared lib   ratio');
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
    // What the strategy runs per token: header checks, key by kid, signature and claims, required claims.
    const viaLibrary = async () => {
      const header = checkHeader(token, options);
      const key = resolver.keyFor(header) ?? (await resolver.resolve(header));
      let payload: unknown;
      verifyJws(token, key, jwtOptions, (error, claims) => {
        if (error) throw error;
        payload = claims;
      });
      return toPrincipal(payload, { clockToleranceSeconds: 5, maxTokenLifetimeSeconds: 900 });
    };
    await viaLibrary(); // proves the token verifies before it is timed

    const count = alg === 'RS256' ? iterations * 2 : iterations;
    const raw = await measure('raw', count, () => cryptoVerify(digest, input, rawOptions, signatureBytes));
    const library = await measure('lib', count, viaLibrary);
    figures.push({ alg, rawMicros: raw, libraryMicros: library });
    log(
      `  ${alg.padEnd(7)} ${raw.toFixed(1).padStart(10)} µs   ${library.toFixed(1).padStart(8)} µs   ${(library / raw).toFixed(2)}`,
    );
  }
  return figures;
}
