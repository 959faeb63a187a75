import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateSigningJwk } from '../keys/signing-jwk';
import { parseKeySet } from '../keys/signing-key-set';
import { runRotateKeys } from './rotate-keys-command';

/**
 * `keys:rotate --kube-secret` against a fake API server holding one Secret, with
 * the API's optimistic concurrency: a PUT whose resourceVersion is not the
 * current one is refused with 409.
 */
describe('keys:rotate --kube-secret', () => {
  const original = { keys: [generateSigningJwk('ES256')] };
  let secret: { metadata: { name: string; namespace: string; resourceVersion: string }; data: Record<string, string> };
  let interfere = 0; // how many PUTs a concurrent writer races (and wins)
  let puts = 0;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.headers.authorization !== 'Bearer test-token') return reply(401, { reason: 'Unauthorized' });
    if (request.url !== '/api/v1/namespaces/jwt-ms/secrets/jwt-ms-signing-keys')
      return reply(404, { reason: 'NotFound' });
    if (request.method === 'GET') return reply(200, secret);
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      puts++;
      if (interfere > 0) {
        interfere--;
        secret = {
          ...secret,
          metadata: { ...secret.metadata, resourceVersion: String(Number(secret.metadata.resourceVersion) + 1) },
        };
      }
      const sent = JSON.parse(body);
      if (sent.metadata.resourceVersion !== secret.metadata.resourceVersion)
        return reply(409, { reason: 'Conflict', message: 'the object has been modified' });
      secret = {
        ...sent,
        metadata: { ...sent.metadata, resourceVersion: String(Number(secret.metadata.resourceVersion) + 1) },
      };
      reply(200, secret);
    });
  });
  let baseUrl = '';
  const lines: string[] = [];
  const io = () => ({
    out: (line: string) => lines.push(line),
    err: (line: string) => lines.push(line),
    api: { baseUrl, token: 'test-token' },
  });
  const keySet = () => parseKeySet(Buffer.from(secret.data['signing-jwks.json'], 'base64').toString('utf8'), 'secret');

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    secret = {
      metadata: { name: 'jwt-ms-signing-keys', namespace: 'jwt-ms', resourceVersion: '7' },
      data: {
        'signing-jwks.json': Buffer.from(JSON.stringify(original)).toString('base64'),
        other: Buffer.from('kept').toString('base64'),
      },
    };
    interfere = 0;
    puts = 0;
    lines.length = 0;
  });

  it('adds a key that signs after the lead and retires the old one after lead + TTL + 60 s, as the service does', async () => {
    const before = Math.floor(Date.now() / 1000);
    const code = await runRotateKeys(
      ['--kube-secret', 'jwt-ms/jwt-ms-signing-keys', '--lead', '600', '--access-ttl', '300'],
      io(),
    );
    expect(code).toBe(0);
    const [fresh, old] = keySet().keys;
    expect(old.kid).toBe(original.keys[0].kid);
    expect(fresh.nbf).toBeGreaterThanOrEqual(before + 600);
    expect(old.exp).toBe((fresh.nbf as number) + 300 + 60);
    expect(Buffer.from(secret.data.other, 'base64').toString()).toBe('kept');
    expect(secret.metadata.resourceVersion).toBe('8');
    // Kids and times only: no private component is printed.
    expect(lines.join('')).toContain(fresh.kid);
    expect(lines.join('')).not.toContain(fresh.d as string);
    expect(lines.join('')).not.toContain(original.keys[0].d as string);
  });

  it('re-reads and rotates again on a 409 conflict, never overwriting the concurrent change', async () => {
    interfere = 2;
    expect(await runRotateKeys(['--kube-secret', 'jwt-ms/jwt-ms-signing-keys'], io())).toBe(0);
    expect(puts).toBe(3);
    expect(keySet().keys).toHaveLength(2);
    expect(lines.join('')).toMatch(/changed meanwhile 2 time/);
  });

  it('gives up cleanly when every attempt conflicts, and the Secret is unchanged', async () => {
    interfere = 100;
    expect(await runRotateKeys(['--kube-secret', 'jwt-ms/jwt-ms-signing-keys'], io())).toBe(1);
    expect(keySet().keys.map((key) => key.kid)).toEqual([original.keys[0].kid]);
    expect(lines.join('')).toMatch(/kept changing.*nothing was rotated/);
  });

  it('fails with the API status, not the body, when the token is refused', async () => {
    const code = await runRotateKeys(['--kube-secret', 'jwt-ms/jwt-ms-signing-keys'], {
      ...io(),
      api: { baseUrl, token: 'wrong' },
    });
    expect(code).toBe(1);
    expect(lines.join('')).toMatch(/GET secret jwt-ms\/jwt-ms-signing-keys: 401 Unauthorized/);
  });

  it('refuses a bad usage (both --file and --kube-secret, or a secret without a namespace)', async () => {
    expect(await runRotateKeys(['--kube-secret', 'jwt-ms/x', '--file', 'f'], io())).toBe(2);
    expect(await runRotateKeys(['--kube-secret', 'nonamespace'], io())).toBe(1);
  });
});
