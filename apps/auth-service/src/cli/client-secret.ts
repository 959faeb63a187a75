/**
 * Makes a client secret for the registry (docs/configuration.md): 256 random
 * bits, base64url, and its argon2id hash. The secret goes to the client (a
 * Secret of the calling service); only the hash goes into `OAUTH_CLIENTS`.
 *
 *   npm run -s clients:secret
 *
 * Prints `{"client_secret": …, "client_secret_hash": …}` to stdout; a file it
 * is redirected to is made mode 0600 first. Never commit the secret.
 */
import { fchmodSync, fstatSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as argon2 from 'argon2';

const secret = randomBytes(32).toString('base64url');
void argon2.hash(secret, { type: argon2.argon2id }).then((hash) => {
  if (fstatSync(1).isFile()) fchmodSync(1, 0o600);
  process.stdout.write(`${JSON.stringify({ client_secret: secret, client_secret_hash: hash }, null, 2)}\n`);
});
