import { join } from 'node:path';
import { ROOT, launchScript, stopProcess, type RunningService } from '@jwt-ms/testing';

/**
 * `npm run bench` and `npm run cluster` run TypeScript through @swc-node/register, without the
 * webpack build the services ship with, and so without its CommonJS interop: a default import
 * of a CommonJS package that works in the build can fail there (find-my-way did).
 */
describe('scripts run through @swc-node/register', () => {
  let service: RunningService | undefined;

  afterAll(() => stopProcess(service?.process));

  it("the bench's naive service builds its app with the project's bootstrap and listens", async () => {
    service = await launchScript(
      'naive-service',
      ['-r', '@swc-node/register', join(ROOT, 'tools/bench/naive-service.ts')],
      {
        SWC_NODE_PROJECT: join(ROOT, 'tsconfig.base.json'),
        PORT: '0',
        REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
        AUTH_ISSUER: 'http://issuer.test',
        AUTH_JWKS_URI: 'http://127.0.0.1:9/.well-known/jwks.json',
        AUTH_ALGORITHMS: 'ES256',
      },
    );
    const response = await fetch(`${service.url}/no-such-route`, { method: 'DELETE' });
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  }, 60_000);
});
