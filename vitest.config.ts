import { defineConfig } from 'vitest/config';

/**
 * Four projects, by what a test needs:
 * - unit: pure logic (`*.spec.ts` beside the code): no kernel, no services; seconds.
 * - api: the API against real PostgreSQL and Redis, hosts played by the test (`apps/api/test`): no kernel.
 * - kernel: the real kernel's BPF, bpftrace, OpenSSH and QEMU guests (`libs/*\/test`, the daemon's and SSH gateway's tests).
 * - e2e: all of it at once: PostgreSQL, Redis, the API and real daemons as processes (`test/`, the CLI's tests).
 * `npm run test:unit` runs the first alone; `npm test` runs them all.
 */
const KERNEL_GUARD = 'test/support/kernel-guard.ts';
const SERVICES = 'test/support/services.ts';
const SECRET_SCAN = 'test/support/secret-scan-hook.ts';
const AUDIT_COVERAGE = 'test/support/audit-coverage-hook.ts';

export default defineConfig({
  test: {
    // Kernel tests count BPF objects and e2e tests count processes: files run one at a time, across
    // projects too, so one file's programs never show up in another's checks.
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['apps/*/src/**/*.spec.ts', 'libs/*/src/**/*.spec.ts', 'infra/**/*.spec.ts', 'bench/**/*.spec.ts'],
          testTimeout: 10_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'kernel',
          include: ['libs/*/test/**/*.test.ts', 'apps/node-daemon/test/**/*.test.ts', 'apps/ssh-gateway/test/**/*.test.ts'],
          globalSetup: [KERNEL_GUARD],
        },
      },
      {
        extends: true,
        test: {
          name: 'api',
          include: ['apps/api/test/**/*.test.ts'],
          globalSetup: [SERVICES],
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['apps/cli/test/**/*.test.ts', 'test/**/*.test.ts'],
          globalSetup: [KERNEL_GUARD, SERVICES],
          // After each file: no service log it made holds a secret, and the audit trail of every API it
          // started has a record for each mutation and refused authentication it caused.
          setupFiles: [SECRET_SCAN, AUDIT_COVERAGE],
        },
      },
    ],
  },
});
