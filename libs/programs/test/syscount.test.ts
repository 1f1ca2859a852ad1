import type { CountsOutput } from '@fleettrace/contracts';
import { spawnGated } from '@fleettrace/bpf-loader/testing';
import { moveToCgroup } from '@fleettrace/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countsFromEntries } from '../src/aggregate';
import type { CountsOutputSpec } from '../src/manifest';
import { syscount } from '../src/syscount/syscount';
import { buildPrograms } from './support/build';
import { buildWorkload, createScope, loadProgram, trackKernelObjects, WORKLOAD, type TestScope } from './support/kernel';

const track = trackKernelObjects();
let scope: TestScope;

beforeAll(() => {
  buildPrograms();
  buildWorkload();
  scope = createScope('syscount');
}, 120_000);

afterAll(() => scope?.remove());

/** Runs syscount with these params around `workload`, returning both outputs. */
async function count(params: unknown, workload: () => Promise<void>): Promise<Record<string, CountsOutput>> {
  const obj = track(loadProgram(syscount, params, scope.filter));
  try {
    obj.attachAll();
    await workload();
    const outputs = syscount.outputs as CountsOutputSpec[];
    return Object.fromEntries(outputs.map((o) => [o.name, countsFromEntries(o, obj.map(o.map).entries())]));
  } finally {
    await obj.close();
  }
}

function callsOf(output: CountsOutput, key: Record<string, unknown>): number {
  return output.entries.find((e) => Object.entries(key).every(([k, v]) => e.key[k] === v))?.value ?? 0;
}

describe('syscount in the kernel', () => {
  it('counts the syscalls of the cgroup scope and not those outside it', async () => {
    const out = await count({}, async () => {
      await scope.runInside(WORKLOAD, ['getpriority', '1000']);
      await scope.runOutside(WORKLOAD, ['getpriority', '777']);
    });
    // Nothing else in the scope calls getpriority: exactly the workload's calls.
    expect(callsOf(out.syscalls, { syscall: 'getpriority' })).toBe(1000);
    expect(callsOf(out.syscalls, { syscall: 'execve' })).toBeGreaterThanOrEqual(1);
    const workloads = out.processes.entries.filter((e) => e.key.comm === 'workload');
    expect(workloads).toHaveLength(1);
    expect(workloads[0].value).toBeGreaterThanOrEqual(1000);
  });

  it('counts only the process asked for', async () => {
    const target = spawnGated(WORKLOAD, ['getpriority', '300']);
    const bystander = spawnGated(WORKLOAD, ['getpriority', '200']);
    try {
      moveToCgroup(scope.inside, target.pid);
      moveToCgroup(scope.inside, bystander.pid);
      const out = await count({ pid: target.pid }, async () => {
        target.release();
        bystander.release();
        await Promise.all([target.exited, bystander.exited]);
      });
      expect(callsOf(out.syscalls, { syscall: 'getpriority' })).toBe(300);
      // One pid, under two comms: the gate's before it execs the workload, then the workload's.
      expect(new Set(out.processes.entries.map((e) => e.key.pid))).toEqual(new Set([target.pid]));
      expect(callsOf(out.processes, { pid: target.pid, comm: 'workload' })).toBeGreaterThanOrEqual(300);
    } finally {
      await Promise.all([target.kill(), bystander.kill()]);
    }
  });

  it('counts only processes with the comm asked for', async () => {
    const out = await count({ comm: 'work', commMatch: 'prefix' }, async () => {
      // The shell that joins the cgroup runs as "sh" until it execs the workload.
      await scope.runInside(WORKLOAD, ['getpriority', '50']);
    });
    expect(out.processes.entries.map((e) => e.key.comm)).toEqual(['workload']);
    expect(callsOf(out.syscalls, { syscall: 'getpriority' })).toBe(50);
  });
});
