/**
 * Prints a new private signing JWK Set to stdout: what `SIGNING_JWKS` or
 * `SIGNING_JWKS_FILE` expects (in a cluster, the content of a Secret).
 *
 *   npm run -s keys:generate -- [--alg ES256|RS256|EdDSA] > signing-jwks.json
 *
 * Redirected to a file, the file is made mode 0600 (owner only) before the
 * key is written. The output holds private keys: never
 * commit it, never paste it into a ticket.
 */
import { fchmodSync, fstatSync } from 'node:fs';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '@jwt-ms/contracts';
import { generateSigningJwk } from '../keys/signing-jwk';

const index = process.argv.indexOf('--alg');
const alg = (index > 0 ? process.argv[index + 1] : 'ES256') as SigningAlgorithm;
if (!SIGNING_ALGORITHMS.includes(alg)) {
  process.stderr.write(`--alg must be one of ${SIGNING_ALGORITHMS.join(', ')}\n`);
  process.exit(2);
}
// `> file` creates the file with the shell's umask (0644 as a rule): anyone could read the private key. When
// stdout is a regular file, make it this user's alone before anything is written to it.
if (fstatSync(1).isFile()) fchmodSync(1, 0o600);
process.stdout.write(`${JSON.stringify({ keys: [generateSigningJwk(alg)] }, null, 2)}\n`);
