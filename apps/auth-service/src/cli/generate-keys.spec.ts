import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../../..');

describe('npm run -s keys:generate > file', () => {
  it('leaves the private key set readable by its owner only, whatever the umask made of the redirect', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jwtms-keys-'));
    const file = join(dir, 'signing-jwks.json');
    try {
      // As the docs have it: the shell creates the file (0644 under umask 022) before the program runs.
      execFileSync('bash', ['-c', 'umask 022 && npm run -s keys:generate -- --alg ES256 > "$1"', 'bash', file], {
        cwd: ROOT,
        env: { ...process.env, NX_NO_CLOUD: 'true' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
      expect(JSON.parse(readFileSync(file, 'utf8')).keys[0]).toMatchObject({ kty: 'EC', d: expect.any(String) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
