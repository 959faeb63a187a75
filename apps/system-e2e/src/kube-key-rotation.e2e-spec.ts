import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startCluster, type Cluster } from '@jwt-ms/tools/cluster';
import { ROOT, waitUntil } from '@jwt-ms/testing';
import { POSTGRES_ADMIN_URL, REDIS_URL } from './support/stack';
import { call } from './support/http';
import { forgeKey, privateJwks } from './support/token-forge';

const PASSWORD = 'correct horse battery staple';
const SECRET_PATH = '/api/v1/namespaces/jwt-ms/secrets/jwt-ms-signing-keys';
const kidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid as string;

/**
 * Key rotation as on Kubernetes, over the native cluster (2 auth replicas): the
 * key set is a Secret, served here by a fake API server for that one Secret
 * (GET, and PUT with resourceVersion conflicts), which writes each new version
 * to the replicas' "mounted" file the way kubelet does (a new directory, the
 * `..data` symlink swapped atomically). `keys:rotate --kube-secret` runs against
 * it while requests verify tokens at users and orders through the balancer.
 */
describe('keys:rotate --kube-secret on a cluster, with a Secret volume updated as kubelet does', () => {
  let cluster: Cluster;
  let api: Server;
  let apiUrl = '';
  const dataDir = mkdtempSync(join(tmpdir(), 'jwtms-kube-rotation-'));
  const volume = join(dataDir, 'secret-volume');
  const initialKey = forgeKey('ES256', 'initial-key');
  let secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'jwt-ms-signing-keys', namespace: 'jwt-ms', resourceVersion: '1' },
    data: { 'signing-jwks.json': Buffer.from(privateJwks(initialKey)).toString('base64') },
  };
  let generation = 0;
  let conflictsToCause = 1; // the first PUT meets a concurrent change (another writer)
  const conflicts: number[] = [];

  /** kubelet's atomic writer: the files in a new directory, then `..data` swapped to it. */
  function project(data: Record<string, string>): void {
    generation += 1;
    const dir = `..gen_${generation}`;
    mkdirSync(join(volume, dir), { recursive: true });
    for (const [key, value] of Object.entries(data))
      writeFileSync(join(volume, dir, key), Buffer.from(value, 'base64'), { mode: 0o600 });
    symlinkSync(dir, join(volume, '..data_tmp'));
    renameSync(join(volume, '..data_tmp'), join(volume, '..data'));
  }

  beforeAll(async () => {
    mkdirSync(volume, { recursive: true });
    project(secret.data);
    symlinkSync('..data/signing-jwks.json', join(volume, 'signing-jwks.json'));
    api = createServer((request, response) => {
      const reply = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (request.url !== SECRET_PATH) return reply(404, { kind: 'Status', reason: 'NotFound' });
      if (request.method === 'GET') return reply(200, secret);
      if (request.method !== 'PUT') return reply(405, { kind: 'Status', reason: 'MethodNotAllowed' });
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        if (conflictsToCause > 0) {
          conflictsToCause -= 1;
          secret = {
            ...secret,
            metadata: { ...secret.metadata, resourceVersion: String(Number(secret.metadata.resourceVersion) + 1) },
          };
        }
        const sent = JSON.parse(body);
        if (sent.metadata.resourceVersion !== secret.metadata.resourceVersion) {
          conflicts.push(Date.now());
          return reply(409, { kind: 'Status', reason: 'Conflict', message: 'the object has been modified' });
        }
        secret = {
          ...sent,
          metadata: { ...sent.metadata, resourceVersion: String(Number(secret.metadata.resourceVersion) + 1) },
        };
        project(secret.data);
        reply(200, secret);
      });
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    const verifier = { AUTH_JWKS_REFRESH_SECONDS: '1' };
    cluster = await startCluster({
      replicas: 2,
      dataDir,
      redisUrl: REDIS_URL,
      postgresAdminUrl: POSTGRES_ADMIN_URL,
      databasePrefix: `jwtms_test_kube_rotation_${process.pid}`,
      freshDatabases: true,
      issuer: 'http://auth.cluster.test',
      env: {
        NODE_ENV: 'test',
        AUTH_RATE_LIMIT_PER_IP: '100000',
        AUTH_RATE_LIMIT_PER_ACCOUNT: '100000',
        AUTH_TOKEN_RATE_LIMIT_PER_IP: '100000',
      },
      serviceEnv: {
        'auth-service': {
          SIGNING_JWKS_FILE: join(volume, 'signing-jwks.json'),
          SIGNING_KEY_LEAD_SECONDS: '4',
          SIGNING_KEYS_RELOAD_SECONDS: '1',
        },
        'users-service': verifier,
        'orders-service': verifier,
      },
    });
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
    await new Promise((resolve) => api?.close(resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('switches every replica to the new key with zero failed requests, old tokens verifying meanwhile', async () => {
    const email = `kube.rotation.${Date.now().toString(36)}@example.test`;
    await call('POST', `${cluster.urls['auth-service']}/auth/register`, { body: { email, password: PASSWORD } });
    const login = async () =>
      (await call('POST', `${cluster.urls['auth-service']}/auth/login`, { body: { email, password: PASSWORD } })).body
        .access_token as string;
    const oldToken = await login();
    expect(kidOf(oldToken)).toBe('initial-key');

    let latest = oldToken;
    const failures: string[] = [];
    let requests = 0;
    let running = true;
    const load = (async () => {
      while (running) {
        for (const token of [oldToken, latest])
          for (const url of [`${cluster.urls['users-service']}/users/me`, `${cluster.urls['orders-service']}/orders`]) {
            const { status } = await call('GET', url, { token });
            requests += 1;
            if (status !== 200) failures.push(`${status} ${url} kid=${kidOf(token)}`);
          }
      }
    })();

    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '-r',
        '@swc-node/register',
        'apps/auth-service/src/cli/rotate-keys.ts',
        '--kube-secret',
        'jwt-ms/jwt-ms-signing-keys',
        '--api-server',
        apiUrl,
        '--lead',
        '4',
        '--access-ttl',
        '900',
      ],
      { cwd: ROOT, env: { ...process.env, SWC_NODE_PROJECT: 'tsconfig.base.json' }, timeout: 60_000 },
    );
    expect(conflicts).toHaveLength(1); // re-read after the conflict, not overwritten
    const set = JSON.parse(Buffer.from(secret.data['signing-jwks.json'], 'base64').toString());
    const newKid: string = set.keys[0].kid;
    expect(stdout).toContain(`new key ${newKid}`);
    expect(stdout).not.toContain(set.keys[0].d);
    expect(set.keys.map((key: { kid: string }) => key.kid)).toEqual([newKid, 'initial-key']);

    // Every replica signs with the new key once the lead has passed (each login lands on either replica).
    await waitUntil(
      async () => {
        const tokens = await Promise.all([login(), login(), login(), login()]);
        latest = tokens[0];
        return tokens.every((token) => kidOf(token) === newKid);
      },
      'new tokens signed by the new key on every replica',
      60_000,
    );
    // A few rounds with both keys' tokens in flight.
    const after = requests;
    await waitUntil(() => requests >= after + 40, 'load with both keys', 60_000);
    running = false;
    await load;
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(40);
    // The old key is still published (retiring after lead + TTL + 60 s), so its tokens still verify.
    const jwks = await call('GET', `${cluster.urls['auth-service']}/.well-known/jwks.json`);
    expect(jwks.body.keys.map((key: { kid: string }) => key.kid).sort()).toEqual(['initial-key', newKid].sort());
  }, 180_000);
});
