import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ISSUER_ONLY_ENV, ROOT, serviceEnv } from '@jwt-ms/testing';

/** The secrets only the issuer needs never reach a resource service's environment, in `npm start` or the cluster. */
describe('issuer-only environment variables', () => {
  const caller = {
    PATH: '/usr/bin',
    REDIS_URL: 'redis://127.0.0.1:6379',
    ADMIN_EMAIL: 'admin@example.test',
    ADMIN_PASSWORD: 'a long passphrase',
    OAUTH_CLIENTS: 'users-service:0123456789abcdef',
    SIGNING_JWKS: '{"keys":[]}',
    SIGNING_JWKS_FILE: '/run/secrets/signing-jwks',
  };

  it('names the admin credentials, the client secrets and the signing keys', () => {
    expect([...ISSUER_ONLY_ENV].sort()).toEqual(
      ['ADMIN_EMAIL', 'ADMIN_PASSWORD', 'OAUTH_CLIENTS', 'SIGNING_JWKS', 'SIGNING_JWKS_FILE'].sort(),
    );
  });

  it('npm run cluster: users and orders get the rest, auth gets everything', () => {
    for (const service of ['users-service', 'orders-service'] as const) {
      expect(serviceEnv(service, caller)).toEqual({ PATH: '/usr/bin', REDIS_URL: 'redis://127.0.0.1:6379' });
    }
    expect(serviceEnv('auth-service', caller)).toEqual(caller);
  });

  it('npm start (scripts/start.mjs uses scripts/service-env.mjs): the same', () => {
    const script = `import('${join(ROOT, 'scripts/service-env.mjs')}').then((m) => process.stdout.write(JSON.stringify(
      ['auth-service', 'users-service', 'orders-service'].map((app) => Object.keys(m.serviceEnv(app, JSON.parse(process.argv[1]))).sort()))))`;
    const [auth, users, orders] = JSON.parse(
      execFileSync(process.execPath, ['-e', script, JSON.stringify(caller)], { encoding: 'utf8' }),
    );
    expect(auth).toEqual(Object.keys(caller).sort());
    expect(users).toEqual(['PATH', 'REDIS_URL']);
    expect(orders).toEqual(['PATH', 'REDIS_URL']);
    const start = execFileSync('grep', ['-c', 'serviceEnv(s.app, process.env)', join(ROOT, 'scripts/start.mjs')], {
      encoding: 'utf8',
    });
    expect(Number(start)).toBe(1);
  });
});
