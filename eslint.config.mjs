import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default [
  { ignores: ['**/node_modules/**', '**/build/**', '**/dist/**', '.nx/**', '.fleettrace/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:contracts', 'type:util'] },
            { sourceTag: 'type:native', onlyDependOnLibsWithTags: ['type:contracts', 'type:util'] },
            { sourceTag: 'scope:api', notDependOnLibsWithTags: ['type:native'] },
            { sourceTag: 'scope:shared', notDependOnLibsWithTags: ['type:native', 'scope:api', 'scope:daemon'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:contracts', 'type:util', 'type:native', 'type:data-access', 'type:feature'] },
          ],
        },
      ],
    },
  },
  {
    // Libraries are framework-free: NestJS stays in the API.
    files: ['libs/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['@nestjs/*'], message: 'no @nestjs/* import inside libs' }] }] },
  },
  {
    // Kernel tests of the catalog load programs with the native loader; shipped catalog code never may.
    files: ['libs/programs/test/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
];
