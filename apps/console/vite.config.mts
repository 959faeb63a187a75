import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/**
 * Two builds from one config:
 * - `vite build`: the page (index.html and its module graph) into dist/apps/console/web. No inline
 *   script or style is emitted (`modulePreload.polyfill` off), so the page runs under a CSP without
 *   `unsafe-inline`.
 * - `vite build --ssr`: the console's server (src/server/main.ts) into dist/apps/console/server/main.mjs,
 *   for Node 20, its packages (fastify, zod) left to node_modules.
 */
export default defineConfig(({ isSsrBuild }) => ({
  root: import.meta.dirname,
  base: '/',
  logLevel: 'warn',
  build: isSsrBuild
    ? {
        ssr: true,
        outDir: resolve(import.meta.dirname, '../../dist/apps/console/server'),
        emptyOutDir: true,
        target: 'node20',
        rollupOptions: { input: resolve(import.meta.dirname, 'src/server/main.ts'), output: { entryFileNames: 'main.mjs', format: 'es' } },
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
