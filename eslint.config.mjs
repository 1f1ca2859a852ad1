import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const TESTING_ONLY = { group: ['@fleettrace/testing', '@fleettrace/testing/*'], message: 'the test harness is for tests only' };
const DEV_TOOLING_ONLY = { group: ['@fleettrace/infra', '@fleettrace/infra/*'], message: 'infra/ is the dev stack and test tooling: shipped code never imports it' };
const NO_NEST_IN_LIBS = { group: ['@nestjs/*'], message: 'no @nestjs/* import inside libs' };
const NO_INFRA_IN_CLI = { group: ['@fleettrace/infra', '@fleettrace/infra/*'], message: 'the shipped CLI never imports infra/ (dev stack and test tooling)' };
const RUNNER_IN_LOCAL_ONLY = {
  group: ['@fleettrace/runner', '@fleettrace/runner/*', '@fleettrace/bpf-loader', '@fleettrace/bpf-loader/*'],
  message: "only the CLI's local mode (apps/cli/src/local/) loads the BPF runner: the rest of the CLI talks to the API",
};

/**
 * Which projects may import which, by tag. A project's build scripts (apps/<app>/scripts, libs/<lib>/scripts)
 * may also use the build tools (libs/build-tools, tagged type:build and scope:build): see the block
 * for scripts below. Shipped code never may.
 */
const DEP_CONSTRAINTS = [
  { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:contracts', 'type:util'] },
  { sourceTag: 'type:native', onlyDependOnLibsWithTags: ['type:contracts', 'type:util'] },
  // The runner (libs/runner): the one library that loads the native loader.
  { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:contracts', 'type:util', 'type:native'] },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:contracts', 'type:util', 'type:native', 'type:feature', 'type:testing'] },
  // Only the daemon, the runner and the CLI's local mode may load the native loader.
  { sourceTag: 'scope:api', onlyDependOnLibsWithTags: ['scope:shared', 'scope:testing'] },
  // The CLI's local mode runs the daemons' runner (scope:daemon); which CLI files may is the
  // rule below the boundaries: apps/cli/src/local/ alone.
  { sourceTag: 'scope:cli', onlyDependOnLibsWithTags: ['scope:shared', 'scope:daemon', 'scope:testing'] },
  { sourceTag: 'scope:daemon', onlyDependOnLibsWithTags: ['scope:shared', 'scope:daemon', 'scope:testing'] },
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  // The shared test harness starts real services and fleets: it may use anything.
  { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['*'] },
  // The build tools are esbuild plugins: they import no project.
  { sourceTag: 'type:build', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'scope:build', onlyDependOnLibsWithTags: [] },
];
const BUILD_TAGS = ['type:build', 'scope:build'];
/** DEP_CONSTRAINTS, each also allowing the build tools: for build scripts. */
const DEP_CONSTRAINTS_OF_BUILD_SCRIPTS = DEP_CONSTRAINTS.map((c) =>
  c.onlyDependOnLibsWithTags.includes('*') ? c : { ...c, onlyDependOnLibsWithTags: [...c.onlyDependOnLibsWithTags, ...BUILD_TAGS] },
);
const moduleBoundaries = (depConstraints) => [
  'error',
  {
    enforceBuildableLibDependency: false,
    allow: [],
    // A library with a subpath entry loaded on demand (@fleettrace/results/pprof: the CLI loads
    // pprof-format only for --pprof) is still imported statically through its main entry.
    checkDynamicDependenciesExceptions: ['@fleettrace/results'],
    // Direct dependencies only (Nx's notDependOn... is transitive and counts test-file imports).
    depConstraints,
  },
];

export default [
  { ignores: ['**/node_modules/**', '**/build/**', '**/dist/**', '.nx/**', '.fleettrace/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': moduleBoundaries(DEP_CONSTRAINTS),
    },
  },
  {
    // Build scripts bundle a project with the shared esbuild plugins (libs/build-tools).
    files: ['apps/*/scripts/**/*.ts', 'libs/*/scripts/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': moduleBoundaries(DEP_CONSTRAINTS_OF_BUILD_SCRIPTS) },
  },
  {
    // The test harness never ships: only tests import it.
    files: ['apps/*/src/**/*.ts', 'infra/**/*.ts'],
    ignores: ['**/*.spec.ts', '**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [TESTING_ONLY, DEV_TOOLING_ONLY] }] },
  },
  {
    // The CLI's local mode alone runs BPF programs on this host: everything else goes through the API.
    files: ['apps/cli/**/*.ts'],
    ignores: ['apps/cli/src/local/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [RUNNER_IN_LOCAL_ONLY] }] },
  },
  {
    files: ['apps/cli/src/**/*.ts'],
    ignores: ['apps/cli/src/local/**', '**/*.spec.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [RUNNER_IN_LOCAL_ONLY, TESTING_ONLY, NO_INFRA_IN_CLI] }] },
  },
  {
    // Libraries are framework-free: NestJS stays in the API.
    files: ['libs/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_NEST_IN_LIBS, TESTING_ONLY, DEV_TOOLING_ONLY] }] },
  },
  {
    // Libraries' own tests use the test tooling (infra/, the loader's testing entry) and, for the
    // catalog's kernel tests, the native loader; shipped library code never may.
    files: ['libs/*/test/**/*.ts', 'libs/*/src/**/*.spec.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off', 'no-restricted-imports': 'off' },
  },
];
