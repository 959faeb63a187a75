import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '@jwt-ms/testing';

// The build's own CommonJS module, and semver without its types: plain requires.
const { prunedLockfile, resolveInTree } = require('../webpack/pruned-lockfile.js');
const { satisfies } = require('semver') as { satisfies: (version: string, range: string) => boolean };

type Entry = { version: string; dependencies?: Record<string, string>; dev?: boolean };
type Lock = { packages: Record<string, Entry> };

/**
 * The lockfile each image installs from (tools/webpack/pruned-lockfile.js): cut from the
 * workspace's, it must be one `npm ci --omit=dev` accepts, with every package where the
 * workspace has it.
 */
describe('the pruned lockfile of a service image', () => {
  const rootLock: Lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const rootPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  // typeorm is the case Nx's own pruning broke: yargs 18 beside cliui 9, each wanting another string-width.
  const packageJson = {
    name: 'orders-service',
    version: '0.0.1',
    dependencies: Object.fromEntries(
      ['typeorm', '@nestjs/core', '@nestjs/platform-fastify', 'pino', 'redis'].map((name) => [
        name,
        rootPackage.dependencies[name],
      ]),
    ),
  };

  it('finds a package the way Node does: the nearest node_modules first, then each enclosing one', () => {
    const packages = {
      'node_modules/a': {},
      'node_modules/b': {},
      'node_modules/a/node_modules/b': {},
      'node_modules/a/node_modules/c/node_modules/d': {},
      'node_modules/@s/e': {},
    };
    expect(resolveInTree(packages, 'node_modules/a/node_modules/c', 'b')).toBe('node_modules/a/node_modules/b');
    expect(resolveInTree(packages, 'node_modules/a/node_modules/c', 'd')).toBe(
      'node_modules/a/node_modules/c/node_modules/d',
    );
    expect(resolveInTree(packages, 'node_modules/a/node_modules/c', '@s/e')).toBe('node_modules/@s/e');
    expect(resolveInTree(packages, '', 'b')).toBe('node_modules/b');
    expect(resolveInTree(packages, 'node_modules/b', 'd')).toBeUndefined();
  });

  it('keeps each package at its workspace path, closed under resolution, with versions in range', () => {
    const lock: Lock = prunedLockfile(rootLock, packageJson);
    const paths = Object.keys(lock.packages).filter((path) => path !== '');
    expect(paths.length).toBeGreaterThan(20);
    for (const path of paths) {
      // Only the flags change: nothing is `dev` in an image, and what only dev or optional
      // packages needed in the workspace (devOptional) is reached here through an optional one.
      const { dev, devOptional, ...workspaceEntry } = rootLock.packages[path] as Entry & { devOptional?: boolean };
      void dev;
      const expected = devOptional ? { ...workspaceEntry, optional: true } : workspaceEntry;
      expect({ path, ...lock.packages[path] }).toEqual({ path, ...expected });
      for (const [name, range] of Object.entries(lock.packages[path].dependencies ?? {})) {
        const found = resolveInTree(lock.packages, path, name);
        expect({ path, name, found: found !== undefined }).toEqual({ path, name, found: true });
        expect({ path, name, ok: satisfies(lock.packages[found].version, range) }).toEqual({ path, name, ok: true });
      }
    }
    expect(paths).toEqual(
      expect.arrayContaining(['node_modules/typeorm/node_modules/cliui/node_modules/string-width']),
    );
  });

  it('is accepted by npm ci --omit=dev (a dry run: the same sync check, no download)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pruned-lock-'));
    try {
      writeFileSync(join(dir, 'package.json'), JSON.stringify(packageJson));
      writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(prunedLockfile(rootLock, packageJson)));
      const run = spawnSync('npm', ['ci', '--omit=dev', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 50_000,
      });
      expect({ status: run.status, stderr: run.status === 0 ? '' : run.stderr }).toEqual({ status: 0, stderr: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a lockfile that lacks a package someone needs', () => {
    const packages = { '': {}, 'node_modules/a': { version: '1.0.0', dependencies: { b: '^1' } } };
    expect(() => prunedLockfile({ packages }, { name: 'x', dependencies: { a: '1.0.0' } })).toThrow(
      'b (needed by node_modules/a) is not in package-lock.json',
    );
  });

  it("is what the console's server build emits beside main.mjs: its imported packages, at the workspace's versions", () => {
    // The SSR build of apps/console (vite.config.mts, runtimePackages), into a folder of its own.
    const dir = mkdtempSync(join(tmpdir(), 'console-server-'));
    try {
      const build = spawnSync(
        join(ROOT, 'node_modules/.bin/vite'),
        ['build', '--ssr', 'src/server/main.ts', '--outDir', dir, '--emptyOutDir', '--logLevel', 'error'],
        { cwd: join(ROOT, 'apps/console'), encoding: 'utf8', timeout: 100_000 },
      );
      expect({ status: build.status, stderr: build.status === 0 ? '' : build.stderr }).toEqual({
        status: 0,
        stderr: '',
      });
      const generated = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      const names = ['@fastify/helmet', '@fastify/static', 'fastify', 'zod'];
      expect(generated.dependencies).toEqual(
        Object.fromEntries(names.map((name) => [name, rootPackage.dependencies[name]])),
      );
      // Each one is imported by the bundle (nothing listed that it does not need).
      const bundle = readFileSync(join(dir, 'main.mjs'), 'utf8');
      for (const name of names) expect(bundle).toContain(`from "${name}"`);
      const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
      expect(lock).toEqual(prunedLockfile(rootLock, generated));
      const run = spawnSync('npm', ['ci', '--omit=dev', '--dry-run', '--ignore-scripts', '--no-audit', '--no-fund'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 50_000,
      });
      expect({ status: run.status, stderr: run.status === 0 ? '' : run.stderr }).toEqual({ status: 0, stderr: '' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
