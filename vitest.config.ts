import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['apps/*/{src,test}/**/*.{spec,test}.ts', 'libs/*/{src,test}/**/*.{spec,test}.ts', 'infra/**/*.{spec,test}.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Kernel tests count BPF objects and e2e tests count processes: files run one at a time so
    // one file's programs never show up in another's checks.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
