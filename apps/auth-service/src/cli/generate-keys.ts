/**
 * Prints a new private signing JWK Set to stdout: what `SIGNING_JWKS` or
 * `SIGNING_JWKS_FILE` expects (in a cluster, the content of a Secret).
 *
 *   npm run -s keys:generate -- [--alg ES256|RS256|EdDSA] > signing-jwks.json
 *
 * The output holds private keys: write it to a file only you can read, never
 * commit it, never paste it into a ticket.
 */
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '@jwt-ms/contracts';
import { generateSigningJwk } from '../keys/signing-key-set';

const index = process.argv.indexOf('--alg');
const alg = (index > 0 ? process.argv[index + 1] : 'ES256') as SigningAlgorithm;
if (!SIGNING_ALGORITHMS.includes(alg)) {
  process.stderr.write(`--alg must be one of ${SIGNING_ALGORITHMS.join(', ')}\n`);
  process.exit(2);
}
process.stdout.write(`${JSON.stringify({ keys: [generateSigningJwk(alg)] }, null, 2)}\n`);
