import { spawn } from 'node:child_process';
import { rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
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

const KERNEL_LOCK = '/run/lock/fleettrace-kernel-tests.lock';

/**
 * The kernel's BPF objects are machine-wide: a second test run on the same machine (another
 * checkout) would see this run's programs as its own leaks and load its own into this run's
 * counts. So kernel and e2e runs hold an exclusive lock, and wait their turn. flock(1) holds it
 * until its stdin closes, which happens when this process exits, however it exits.
 */
async function holdKernelLock(): Promise<() => void> {
  // Both the kernel and the e2e project set this guard up, in one vitest process: one lock for both.
  const shared = globalThis as { fleettraceKernelLock?: { holders: number; held: Promise<() => void> } };
  shared.fleettraceKernelLock ??= { holders: 0, held: lockKernel() };
  const lock = shared.fleettraceKernelLock;
  lock.holders++;
  const unlock = await lock.held;
  return () => {
    if (--lock.holders === 0) {
      delete shared.fleettraceKernelLock;
      unlock();
    }
  };
}

async function lockKernel(): Promise<() => void> {
  const holder = spawn('flock', ['--exclusive', KERNEL_LOCK, '-c', 'echo locked; read _'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const notice = setTimeout(() => process.stderr.write(`kernel-guard: waiting for another test run to release ${KERNEL_LOCK}\n`), 1000);
  try {
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: holder.stdout! }).once('line', () => resolve());
      holder.once('error', reject);
      holder.once('exit', (code) => reject(new Error(`flock ${KERNEL_LOCK} exited with ${code}`)));
    });
  } finally {
    clearTimeout(notice);
  }
  return () => holder.stdin!.end();
}

/**
 * Global setup of every project that touches the kernel: no BPF program, link or map created
 * during the run may outlive it. The kernel frees them after an RCU grace period, so a leak is
 * whatever is still there a moment after the last test.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const release = await holdKernelLock();
  const bpf = bpfBaseline();
  return async () => {
    try {
      await checkNothingLeaked(bpf);
    } finally {
      release();
    }
  };
}

async function checkNothingLeaked(bpf: ReturnType<typeof bpfBaseline>): Promise<void> {
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
}
