import { readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const workspaceRoot = resolve(import.meta.dirname, '../..');
const { prunedLockfile } = createRequire(import.meta.url)('../../tools/webpack/pruned-lockfile.js') as {
  prunedLockfile: (lock: unknown, packageJson: unknown) => unknown;
};

/**
 * The server bundle's production dependencies, emitted beside main.mjs as package.json and
 * package-lock.json (what the image installs with `npm ci --omit=dev`, docker/console.Dockerfile):
 * each package the bundle imports, at the workspace's version, and the workspace lockfile cut down
 * to them (tools/webpack/pruned-lockfile.js, as the services' webpack build does).
 *
 * @throws Error when the bundle imports a package the workspace's package.json does not list
 */
function runtimePackages(): Plugin {
  return {
    name: 'console-runtime-packages',
    apply: 'build',
    generateBundle(_options, bundle) {
      const builtins = new Set(builtinModules);
      const names = new Set<string>();
      for (const chunk of Object.values(bundle))
        if (chunk.type === 'chunk')
          for (const id of chunk.imports) {
            if (id.startsWith('node:') || builtins.has(id) || id.startsWith('.')) continue;
            names.add(
              id
                .split('/')
                .slice(0, id.startsWith('@') ? 2 : 1)
                .join('/'),
            );
          }
      const root = JSON.parse(readFileSync(resolve(workspaceRoot, 'package.json'), 'utf8'));
      const dependencies = Object.fromEntries(
        [...names].sort().map((name) => {
          const version = root.dependencies?.[name];
          if (!version) throw new Error(`the console's server imports ${name}, which package.json does not list`);
          return [name, version];
        }),
      );
      const packageJson = { name: 'console', version: '0.0.1', private: true, type: 'module', dependencies };
      const lock = prunedLockfile(
        JSON.parse(readFileSync(resolve(workspaceRoot, 'package-lock.json'), 'utf8')),
        packageJson,
      );
      this.emitFile({ type: 'asset', fileName: 'package.json', source: `${JSON.stringify(packageJson, null, 2)}\n` });
      this.emitFile({ type: 'asset', fileName: 'package-lock.json', source: `${JSON.stringify(lock, null, 2)}\n` });
    },
  };
}

/**
 * Two builds from one config:
 * - `vite build`: the page (index.html and its module graph) into dist/apps/console/web. No inline
 *   script or style is emitted (`modulePreload.polyfill` off), so the page runs under a CSP without
 *   `unsafe-inline`.
 * - `vite build --ssr`: the console's server (src/server/main.ts) into dist/apps/console/server/main.mjs,
 *   for Node 20, its packages (fastify, zod) left to node_modules and listed, with their lockfile,
 *   in a package.json beside it (runtimePackages).
 */
export default defineConfig(({ isSsrBuild }) => ({
  root: import.meta.dirname,
  base: '/',
  logLevel: 'warn',
  plugins: isSsrBuild ? [runtimePackages()] : [],
  build: isSsrBuild
    ? {
        ssr: true,
        outDir: resolve(import.meta.dirname, '../../dist/apps/console/server'),
        emptyOutDir: true,
        target: 'node20',
        rollupOptions: {
          input: resolve(import.meta.dirname, 'src/server/main.ts'),
          output: { entryFileNames: 'main.mjs', format: 'es' },
        },
      }
    : {
        outDir: resolve(import.meta.dirname, '../../dist/apps/console/web'),
        emptyOutDir: true,
        target: 'es2022',
        // Vite inlines small assets as data: URLs and would add an inline preload polyfill: neither passes
        // a CSP without unsafe-inline for scripts.
        assetsInlineLimit: 0,
        modulePreload: { polyfill: false },
        sourcemap: true,
      },
}));
