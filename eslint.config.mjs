import nx from '@nx/eslint-plugin';

/**
 * Path patterns below are relative to the repository root: `basePath` keeps them so when a project's own
 * eslint.config.mjs (where `nx lint` runs ESLint) spreads this file, instead of relative to that project.
 */
const basePath = import.meta.dirname;

/** Production sources: what the services run. Specs, the end-to-end suite and tools/ are not. */
const PRODUCTION_FILES = ['apps/*/src/**/*.ts', 'libs/*/*/src/**/*.ts'];
const NOT_PRODUCTION = [
  '**/*.spec.ts',
  '**/*.e2e-spec.ts',
  'apps/system-e2e/**',
  // The testing entries themselves.
  'libs/shared/testing/**',
  'libs/shared/*/src/testing.ts',
];

/**
 * Lint for every project. The module-boundary rule is the architecture made
 * enforceable: apps import libs, never each other; shared libs import only
 * shared libs; only the issuer signs tokens; test helpers stay out of
 * production code.
 */
export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: ['**/dist', '**/out-tsc', '**/node_modules', 'data/**'],
  },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs', '**/*.cts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: ['^.*/eslint(\\.base)?\\.config\\.[cm]?[jt]s$', '^(\\.\\./)+tools/webpack/service\\.config$'],
          depConstraints: [
            // Each service sees only itself and the shared libs.
            { sourceTag: 'scope:auth', onlyDependOnLibsWithTags: ['scope:auth', 'scope:shared'] },
            {
              sourceTag: 'scope:users',
              onlyDependOnLibsWithTags: ['scope:users', 'scope:shared'],
              // Resource services verify; they never sign. jose stays behind @jwt-ms/auth-jwt.
              bannedExternalImports: ['jose', 'jsonwebtoken', 'argon2'],
            },
            {
              sourceTag: 'scope:orders',
              onlyDependOnLibsWithTags: ['scope:orders', 'scope:shared'],
              bannedExternalImports: ['jose', 'jsonwebtoken', 'argon2'],
            },
            // The console is a page and a file server: it calls the services over HTTP, like any client.
            {
              sourceTag: 'scope:console',
              onlyDependOnLibsWithTags: ['scope:console', 'scope:shared'],
              bannedExternalImports: ['jsonwebtoken', 'argon2', '@nestjs/*', 'typeorm', 'redis'],
            },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            // Apps are leaves: nothing imports an app except the end-to-end suite.
            // type:testing (@jwt-ms/testing) only from specs: the rule on PRODUCTION_FILES below.
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib', 'type:testing'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib', 'type:testing'] },
            // Test and dev helpers (processes, servers) use the libs, never an app.
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:lib', 'type:testing'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:app', 'type:lib', 'type:testing', 'type:tool'] },
            // Developer tooling (local cluster, load runner, benchmark) drives the built services from outside.
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'type:testing', 'type:tool'] },
          ],
        },
      ],
    },
  },
  {
    // Test helpers and fixtures are for specs: production code never starts a redis-server or mints a token
    // with a throw-away key. (The TypeScript rule, so that it adds to the no-restricted-imports rules below.)
    basePath,
    files: PRODUCTION_FILES,
    ignores: NOT_PRODUCTION,
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@jwt-ms/testing', '@jwt-ms/testing/*', '@jwt-ms/*/testing', '**/testing'],
              message: 'test helpers and fixtures are for *.spec.ts files and the end-to-end suite only',
            },
          ],
        },
      ],
    },
  },
  {
    // A lib's entry points name each public export, so that its API is what it says and no internal leaks out.
    basePath,
    files: ['libs/*/*/src/index.ts', 'libs/*/*/src/testing.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportAllDeclaration', message: 'name each export of an entry point instead of `export *`' },
      ],
    },
  },
  {
    // The verification library never signs: only the issuer holds private keys.
    basePath,
    files: ['libs/shared/auth-jwt/src/lib/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'jose',
              importNames: [
                'SignJWT',
                'CompactSign',
                'FlattenedSign',
                'GeneralSign',
                'generateKeyPair',
                'importPKCS8',
                'EncryptJWT',
              ],
              message: 'The verification library only verifies; signing belongs to apps/auth-service.',
            },
          ],
        },
      ],
    },
  },
  {
    // Contracts are types and constants shared across processes: no framework runtime.
    basePath,
    files: ['libs/shared/contracts/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@nestjs/*', 'typeorm', 'redis', 'jose'], message: 'contracts import nothing with a runtime' },
          ],
        },
      ],
    },
  },
];
