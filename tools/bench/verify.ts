/**
 * Verification cost per algorithm: the shared library's pipeline
 * (`AccessTokenVerifier.verify`: size, shape, header, key by `kid`, signature,
 * payload, registered and required claims, revocation) against a bare
 * `crypto.verify` of the same token with the same key, measured in one run on
 * this machine.
 *
 * For a figure that holds on a busy machine, the two are measured
 * interleaved: after a warm-up, each round times one batch of each, in
 * alternating order, and the figure is the median of the per-round ratios
 * (the spread of the ratios is printed beside it). Time is this process's CPU
 * time (`process.cpuUsage`), not wall time, so other processes on the machine
 * do not count. The verified-token cache is
 * off (every verification checks the signature) and the revocation list is an
 * in-memory stand-in that revokes nothing (the real one is three `Map` lookups).
 */
import 'reflect-metadata';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { TestTokenIssuer } from '@jwt-ms/auth-jwt/testing';
import {
  AccessTokenVerifier,
  SigningKeyResolver,
  VerifiedTokenCache,
  resolveOptions,
  type RevocationView,
} from '@jwt-ms/auth-jwt';
import type { SigningAlgorithm } from '@jwt-ms/contracts';

/** Rounds per figure; each times one batch of raw and one of pipeline verifications. */
const ROUNDS = 31;
/** Verifications of each kind before any is timed (JIT, key caches). */
const WARM_UP = 2000;

/** One algorithm's figures: median µs per token, and the median and spread of the per-round ratios. */
export interface VerifyFigures {
  alg: SigningAlgorithm;
  rawMicros: number;
  libraryMicros: number;
  /** Median of the per-round ratios pipeline ÷ raw: the figure the goal is checked against. */
  ratio: number;
  /** Lowest and highest per-round ratio. */
  ratioRange: [number, number];
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/**
 * @returns CPU time of this process per operation, in µs: unlike wall time, it leaves out the time
 *   the scheduler gives other processes, which on a shared machine is most of the noise
 */
async function timeBatch(count: number, work: () => unknown): Promise<number> {
  const started = process.cpuUsage();
  for (let i = 0; i < count; i += 1) await work();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / count;
}

/**
 * The pipeline as a resource service runs it, for one algorithm, without Redis.
 *
 * @returns a verify function and the raw `crypto.verify` of the same token
 */
async function subjectsFor(alg: SigningAlgorithm): Promise<{ raw: () => boolean; pipeline: () => Promise<unknown> }> {
  const issuer = await TestTokenIssuer.create({ algorithms: [alg], audience: ['users-service'] });
  const token = await issuer.mint();
  const settings = resolveOptions({
    issuer: issuer.issuer,
    audience: 'users-service',
    keys: { localJwks: () => issuer.jwks },
    algorithms: [alg],
    redisUrl: 'redis://unused',
    verifiedTokenCacheSize: 0,
  });
  const cache = new VerifiedTokenCache(settings);
  const resolver = new SigningKeyResolver(settings, cache);
  const revocations = { check: () => null, coveredTokenLifetimeSeconds: () => 900 } as unknown as RevocationView;
  const verifier = new AccessTokenVerifier(settings, resolver, revocations, cache);
  await verifier.verify(token); // proves the token verifies, and warms the key selection

  const [head, body, signature] = token.split('.');
  const input = Buffer.from(`${head}.${body}`);
  const signatureBytes = Buffer.from(signature, 'base64url');
  const rawKey = createPublicKey({ key: issuer.keys[0].publicJwk as never, format: 'jwk' });
  const digest = alg === 'EdDSA' ? null : 'sha256';
  const rawOptions = alg === 'ES256' ? { key: rawKey, dsaEncoding: 'ieee-p1363' as const } : rawKey;
  const raw = () => cryptoVerify(digest, input, rawOptions, signatureBytes);
  if (!raw()) throw new Error('raw verify failed');
  return { raw, pipeline: () => verifier.verify(token) };
}

/**
 * @param iterations verifications of each kind per figure, spread over {@link ROUNDS} rounds
 *   (RS256 gets twice as many: it is faster)
 * @param log where to print each algorithm's line
 */
export async function benchVerification(iterations: number, log: (line: string) => void): Promise<VerifyFigures[]> {
  const figures: VerifyFigures[] = [];
  log(
    `  ${WARM_UP} warm-up, then ${ROUNDS} interleaved rounds of ~${Math.ceil(iterations / ROUNDS) * 4} per kind (RS256 twice as many); ` +
      'median CPU µs per token, median (range) of the per-round ratios',
  );
  log('  alg     raw crypto.verify   shared lib   ratio');
  for (const alg of ['ES256', 'RS256', 'EdDSA'] as SigningAlgorithm[]) {
    const { raw, pipeline } = await subjectsFor(alg);
    const batch = Math.ceil(iterations / ROUNDS) * (alg === 'RS256' ? 8 : 4);
    await timeBatch(WARM_UP, raw);
    await timeBatch(WARM_UP, pipeline);
    const rawMicros: number[] = [];
    const libraryMicros: number[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      // Alternate which goes first, so neither always runs on a warmer (or busier) core.
      const rawFirst = round % 2 === 0;
      const first = await timeBatch(batch, rawFirst ? raw : pipeline);
      const second = await timeBatch(batch, rawFirst ? pipeline : raw);
      const [r, l] = rawFirst ? [first, second] : [second, first];
      rawMicros.push(r);
      libraryMicros.push(l);
      ratios.push(l / r);
    }
    const figure: VerifyFigures = {
      alg,
      rawMicros: median(rawMicros),
      libraryMicros: median(libraryMicros),
      ratio: median(ratios),
      ratioRange: [Math.min(...ratios), Math.max(...ratios)],
    };
    figures.push(figure);
    log(
      `  ${alg.padEnd(7)} ${figure.rawMicros.toFixed(1).padStart(10)} µs   ${figure.libraryMicros.toFixed(1).padStart(8)} µs   ` +
        `${figure.ratio.toFixed(2)} (${figure.ratioRange[0].toFixed(2)}–${figure.ratioRange[1].toFixed(2)})`,
    );
  }
  return figures;
}
