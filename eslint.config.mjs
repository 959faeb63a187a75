import nx from '@nx/eslint-plugin';

/**
 * Lint for every project. The module-boundary rule is the architecture made
 * enforceable: apps import libs, never each other; shared libs import only
 * shared libs; only the issuer signs tokens.
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
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            // Apps are leaves: nothing imports an app except the end-to-end suite.
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:app', 'type:lib', 'type:tool'] },
            // Developer tooling (local cluster, load runner, benchmark) drives the built services from outside.
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib', 'type:tool'] },
          ],
        },
      ],
    },
  },
  {
    // The verification library never signs: only the issuer holds private keys.
    files: ['libs/shared/auth-jwt/src/lib/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'jose',
              importNames: ['SignJWT', 'CompactSign', 'FlattenedSign', 'GeneralSign', 'generateKeyPair', 'importPKCS8', 'EncryptJWT'],
              message: 'The verification library only verifies; signing belongs to apps/auth-service.',
            },
          ],
        },
      ],
    },
  },
  {
    // Contracts are types and constants shared across processes: no framework runtime.
    files: ['libs/shared/contracts/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@nestjs/*', 'typeorm', 'redis', 'jose'], message: 'contracts import nothing with a runtime' }] }],
    },
  },
];
