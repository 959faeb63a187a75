/**
 * Rotates a private signing key set in place, with no failed request: the new
 * key is published at once and signs after the lead time; the old key retires
 * when its tokens have expired (see keys/key-rotation.ts).
 *
 *   npm run -s keys:rotate -- --file signing-jwks.json [--alg ES256] [--lead 900] [--access-ttl 900]
 *   node main.js keys:rotate --kube-secret jwt-ms/jwt-ms-signing-keys   (in the image: the CronJob)
 *
 * Times in seconds. Auth replicas reading the same file (a Secret) pick the
 * change up within SIGNING_KEYS_RELOAD_SECONDS.
 */
import { runRotateKeys } from './rotate-keys-command';

void runRotateKeys(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
