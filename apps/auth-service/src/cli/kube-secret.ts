import { readFileSync } from 'node:fs';
import type { SigningAlgorithm } from '@jwt-ms/contracts';
import { nowSeconds, rotateKeySet, type RotationResult } from '../keys/key-rotation';
import { parseKeySet } from '../keys/signing-key-set';

/** Where the API server is and how to authenticate to it. */
export interface KubeApi {
  /** e.g. `https://10.96.0.1:443` (no trailing slash) */
  baseUrl: string;
  /** a bearer token (the pod's service-account token); none through `kubectl proxy`, which adds its own */
  token?: string;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The in-cluster API server: `KUBERNETES_SERVICE_HOST`/`_PORT` and the pod's
 * service-account token. The server's CA (`ca.crt` next to the token) is
 * trusted through `NODE_EXTRA_CA_CERTS`, which the CronJob sets, so plain
 * `fetch` verifies TLS.
 *
 * @throws Error when not running in a pod with a mounted token
 */
export function inClusterApi(env: NodeJS.ProcessEnv = process.env): KubeApi {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new Error('KUBERNETES_SERVICE_HOST is not set: not running in a pod');
  const token = readFileSync(`${SERVICE_ACCOUNT}/token`, 'utf8').trim();
  return { baseUrl: `https://${host.includes(':') ? `[${host}]` : host}:${port}`, token };
}

/** What a Secret rotation did: the rotation, and how many times the update met a concurrent change. */
export interface SecretRotation extends RotationResult {
  conflicts: number;
}

interface SecretObject {
  metadata: { resourceVersion?: string; [field: string]: unknown };
  data?: Record<string, string>;
  [field: string]: unknown;
}

/**
 * Rotates the key set kept in a Secret, by the same rules as the service's own
 * rotation (`rotateKeySet`): GET the Secret, rotate the set in `data[key]`,
 * PUT it back with the `resourceVersion` read (optimistic concurrency). A 409
 * Conflict (someone changed it meanwhile) reads and rotates again, up to
 * `attempts` times; nothing is ever written over a change not read.
 * Never prints or returns private key material (the result holds kids and times).
 *
 * @param options.secret `<namespace>/<name>`
 * @param options.key the data key holding the JWK Set (default `signing-jwks.json`)
 * @param options.leadSeconds publication lead, in seconds
 * @param options.accessTokenTtlSeconds the longest access-token lifetime, in seconds
 * @throws Error on an API error (the status and reason, never the body's data), a malformed key set,
 *   or when every attempt met a conflict
 */
export async function rotateKubeSecret(
  api: KubeApi,
  options: {
    secret: string;
    key?: string;
    alg: SigningAlgorithm;
    leadSeconds: number;
    accessTokenTtlSeconds: number;
    attempts?: number;
  },
): Promise<SecretRotation> {
  const [namespace, name, ...rest] = options.secret.split('/');
  if (!namespace || !name || rest.length > 0) throw new Error(`--kube-secret must be <namespace>/<name>`);
  const key = options.key ?? 'signing-jwks.json';
  const url = `${api.baseUrl}/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (api.token) headers['authorization'] = `Bearer ${api.token}`;
  const attempts = options.attempts ?? 5;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const got = await fetch(url, { headers });
    if (!got.ok) throw new Error(`GET secret ${options.secret}: ${got.status} ${await reason(got)}`);
    const secret = (await got.json()) as SecretObject;
    const encoded = secret.data?.[key];
    if (!encoded) throw new Error(`secret ${options.secret} has no data key ${key}`);
    const current = parseKeySet(Buffer.from(encoded, 'base64').toString('utf8'), `secret ${options.secret}[${key}]`);
    const result = rotateKeySet(current, {
      alg: options.alg,
      now: nowSeconds(),
      leadSeconds: options.leadSeconds,
      accessTokenTtlSeconds: options.accessTokenTtlSeconds,
    });
    const updated: SecretObject = {
      ...secret,
      data: { ...secret.data, [key]: Buffer.from(`${JSON.stringify(result.set, null, 2)}\n`).toString('base64') },
    };
    const put = await fetch(url, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(updated),
    });
    if (put.ok) return { ...result, conflicts: attempt };
    // 409: the Secret changed since it was read; read it again rather than overwrite that change.
    if (put.status !== 409) throw new Error(`PUT secret ${options.secret}: ${put.status} ${await reason(put)}`);
    await put.body?.cancel();
  }
  throw new Error(`secret ${options.secret} kept changing (${attempts} conflicts): nothing was rotated`);
}

/** The API's Status reason/message, never anything else of the body. */
async function reason(response: Response): Promise<string> {
  try {
    const status = (await response.json()) as { reason?: string; message?: string };
    return [status.reason, status.message].filter(Boolean).join(': ');
  } catch {
    return response.statusText;
  }
}
