import { rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { cgroup2Root } from '@fleettrace/infra';
import { sleep } from '@fleettrace/infra/stack';
import { bpfBaseline, bpfCreatedSince } from './bpf-leak-check';

/**
 * Suites make their cgroups under one parent and remove their own. The parent goes once empty: a
 * plain rmdir, which fails harmlessly while another test run still has cgroups in it.
 */
function removeEmptyTestCgroupParent(): void {
  try {
    rmdirSync(join(cgroup2Root(), 'fleettrace-test'));
  } catch {
    // absent, or still in use by another run
  }
}

/**
 * Global setup of every project that touches the kernel: no BPF program, link or map created
 * during the run may outlive it. The kernel frees them after an RCU grace period, so a leak is
 * whatever is still there a moment after the last test.
 */
export default function setup(): () => Promise<void> {
  const bpf = bpfBaseline();
  return async () => {
    removeEmptyTestCgroupParent();
    let leaked = bpfCreatedSince(bpf);
    for (let i = 0; i < 50 && leaked.length > 0; i++) {
      await sleep(100);
      leaked = bpfCreatedSince(bpf);
    }
    if (leaked.length > 0) {
      // Vitest reports a teardown error but keeps its exit code: set it, so a leak fails the run.
      process.exitCode = 1;
      throw new Error(`BPF objects created by the tests outlived them: ${leaked.join(', ')}`);
    }
  };
}
