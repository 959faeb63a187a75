/**
 * Key rotation under load: readers call GET /orders with tokens signed by the
 * current key while, 20 s in, an admin rotates the issuer's signing keys
 * (POST /auth/admin/keys/rotate). The new key is published at once and signs
 * only after the issuer's lead time (SIGNING_KEY_LEAD_SECONDS); the old key
 * stays published until its last token has expired. Once the lead has passed,
 * a second scenario logs in again and checks that its tokens carry the new
 * key's `kid` and are accepted by both resource services. So both keys' tokens
 * are verified in the same run, and not one request may fail.
 *
 * The lead must be short for that to happen within the run: start the system
 * with, say, SIGNING_KEY_LEAD_SECONDS=10 (the default, 900, is for production,
 * longer than the verifiers' JWKS refresh) and pass the same value:
 *
 *   k6 run -e ADMIN_EMAIL=… -e ADMIN_PASSWORD=… -e KEY_LEAD_SECONDS=10 load/scenarios/key-rotation.ts
 *
 * The system must run with the same ADMIN_EMAIL and ADMIN_PASSWORD.
 *
 * Where the keys come from a mounted Secret (kind, minikube), the issuer
 * cannot rotate them itself (it answers 409): run with `-e ROTATE=external`
 * and, 20 s in, rotate the Secret from another terminal with the same lead
 * (long enough for the kubelet to update every replica's mount, about a minute):
 *
 *   k6 run -e ROTATE=external -e KEY_LEAD_SECONDS=90 -e AUTH_URL=http://jwt.localtest.me … load/scenarios/key-rotation.ts
 *   scripts/k8s-rotate-keys.sh --lead 90
 *
 * On the cluster the routine rotation is the CronJob signing-key-rotation
 * (`kubectl -n jwt-ms create job --from=cronjob/signing-key-rotation rotate-now`
 * runs it at once); it runs the same rotation (keys:rotate --kube-secret) with
 * the production lead, 900 s, longer than this run, so the run uses the script
 * and its short lead. k6 cannot run kubectl: with ROTATE=external the journey
 * takes the rotation as done by that other terminal, and checks it by the new
 * kid in the tokens issued after the lead.
 */
import { check, fail, sleep } from 'k6';
import encoding from 'k6/encoding';
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import type { Options } from 'k6/options';
import { AUTH_URL, ORDERS_URL, USERS_URL } from '../lib/config.ts';
import { bearer, login, registerUser, requireHealthy } from '../lib/auth.ts';

/** `api` (default): the journey rotates through the admin endpoint; `external`: someone else does, on time. */
const ROTATE = __ENV['ROTATE'] || 'api';
if (ROTATE !== 'api' && ROTATE !== 'external') throw new Error('ROTATE must be api or external');
const ADMIN_EMAIL = __ENV['ADMIN_EMAIL'] || '';
const ADMIN_PASSWORD = __ENV['ADMIN_PASSWORD'] || '';
/** The issuer's SIGNING_KEY_LEAD_SECONDS, in seconds. */
const LEAD_SECONDS = Number(__ENV['KEY_LEAD_SECONDS'] || '10');
if (!Number.isInteger(LEAD_SECONDS) || LEAD_SECONDS < 0 || LEAD_SECONDS > 120)
  throw new Error("KEY_LEAD_SECONDS must be the system's SIGNING_KEY_LEAD_SECONDS, a whole number from 0 to 120");

/** When the rotation happens, and when the new key has surely begun to sign (5 s of slack), in seconds. */
const ROTATE_AT_S = 20;
const NEW_KEY_FROM_S = ROTATE_AT_S + LEAD_SECONDS + 5;
const NEW_KEY_FOR_S = 20;

const newKeyTokens = new Counter('new_key_tokens');

export const options: Options = {
  scenarios: {
    readers: { executor: 'constant-vus', exec: 'read', vus: 10, duration: `${NEW_KEY_FROM_S + NEW_KEY_FOR_S}s` },
    ...(ROTATE === 'api'
      ? {
          rotation: {
            executor: 'per-vu-iterations',
            exec: 'rotate',
            vus: 1,
            iterations: 1,
            startTime: `${ROTATE_AT_S}s`,
          },
        }
      : {}),
    newKey: {
      executor: 'constant-vus',
      exec: 'signedByNewKey',
      vus: 1,
      duration: `${NEW_KEY_FOR_S}s`,
      startTime: `${NEW_KEY_FROM_S}s`,
    },
  },
  thresholds: {
    // Not one failed request across the rotation, old key or new.
    http_req_failed: ['rate==0'],
    'checks{scenario:readers}': ['rate==1'],
    ...(ROTATE === 'api' ? { 'checks{scenario:rotation}': ['rate==1'] } : {}),
    'checks{scenario:newKey}': ['rate==1'],
    // And the new key did sign, and its tokens were verified, during the run.
    new_key_tokens: ['count>0'],
  },
};

interface Data {
  tokens: string[];
  emails: string[];
  /** The admin's access token (ROTATE=api only). */
  adminToken: string;
  /** The `kid` of the key that signed the tokens before the rotation. */
  oldKid: string;
}

/** The protected header's `kid` of a compact JWS. */
function kidOf(token: string): string {
  const header = JSON.parse(encoding.b64decode(token.split('.')[0], 'rawurl', 's')) as { kid?: string };
  return header.kid ?? '';
}

export function setup(): Data {
  requireHealthy();
  let adminToken = '';
  if (ROTATE === 'api') {
    if (!ADMIN_EMAIL || !ADMIN_PASSWORD)
      fail('set ADMIN_EMAIL and ADMIN_PASSWORD (-e) to the admin the system runs with, or ROTATE=external');
    const admin = http.post(
      `${AUTH_URL}/auth/login`,
      JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
      {
        headers: { 'Content-Type': 'application/json' },
      },
    );
    if (admin.status !== 200) fail(`admin login answered ${admin.status}`);
    adminToken = admin.json('access_token') as string;
  }
  const emails = Array.from({ length: 10 }, (_, index) => registerUser(`rotation${index}`));
  const tokens = emails.map((email) => login(email).access_token);
  return { tokens, emails, adminToken, oldKid: kidOf(tokens[0]) };
}

export function read(data: Data): void {
  const response = http.get(`${ORDERS_URL}/orders`, bearer(data.tokens[__VU % data.tokens.length]));
  check(response, { 'old-key token accepted across the rotation': (r) => r.status === 200 });
}

export function rotate(data: Data): void {
  const response = http.post(`${AUTH_URL}/auth/admin/keys/rotate`, null, bearer(data.adminToken));
  if (response.status === 409)
    fail('the issuer reads its keys from a mounted file it cannot change: rotate it yourself with ROTATE=external');
  check(response, {
    'keys rotated': (r) => r.status === 200,
    'a new kid': (r) => typeof r.json('kid') === 'string' && r.json('kid') !== data.oldKid,
  });
}

export function signedByNewKey(data: Data): void {
  const token = login(data.emails[__ITER % data.emails.length]).access_token;
  const signedByNew = kidOf(token) !== data.oldKid;
  const users = http.get(`${USERS_URL}/users/me`, bearer(token));
  const orders = http.get(`${ORDERS_URL}/orders`, bearer(token));
  check(null, {
    'token signed by the new key': () => signedByNew,
    'new-key token accepted by users and orders': () => users.status === 200 && orders.status === 200,
  });
  if (signedByNew && users.status === 200 && orders.status === 200) newKeyTokens.add(1);
  sleep(1);
}
