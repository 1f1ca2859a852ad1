import { writeFileSync } from 'node:fs';
import type { EventRecord } from '@fleettrace/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filelife } from '../src/filelife/filelife';
import { buildPrograms } from './support/build';
import { createScope, trackKernelObjects, type TestScope, collectEvents } from './support/kernel';
import { useTempDir } from './support/temp-dir';

const track = trackKernelObjects();
let scope: TestScope;
const { uniquePath } = useTempDir('filelife');

beforeAll(() => {
  buildPrograms();
  scope = createScope('filelife');
}, 120_000);

afterAll(() => scope?.remove());

function snoop(params: unknown, workload: () => Promise<void>): Promise<EventRecord[]> {
  return collectEvents(track, filelife, params, scope.filter, workload);
}

describe('filelife in the kernel', () => {
  it('reports a file created and deleted inside the scope with its age, and no deletion outside it', async () => {
    const young = uniquePath();
    const old = uniquePath();
    writeFileSync(old, 'made before tracing');
    const outside = uniquePath();
    const events = await snoop({}, async () => {
      // The shell's redirection creates it (openat O_CREAT), rm deletes it (unlinkat) ~200 ms later.
      await scope.runInside('/bin/sh', ['-c', `echo x > ${young} && sleep 0.2 && rm ${young}`]);
      await scope.runInside('/bin/rm', [old]);
      await expect(scope.runInside('/bin/rm', [old])).rejects.toThrow();
      await scope.runOutside('/bin/sh', ['-c', `echo x > ${outside} && rm ${outside}`]);
    });

    const youngs = events.filter((e) => e.path === young);
    expect(youngs).toEqual([expect.objectContaining({ comm: 'rm', syscall: 'unlinkat', dirfd: -100, ret: 0 })]);
    const ageMs = Number(youngs[0].age_ns) / 1e6;
    expect(ageMs).toBeGreaterThanOrEqual(200);
    expect(ageMs).toBeLessThan(1000);
    // Created before the program started: deleted, age unknown; then a failed second attempt.
    expect(events.filter((e) => e.path === old)).toEqual([
      expect.objectContaining({ comm: 'rm', ret: 0, age_ns: 0 }),
      expect.objectContaining({ comm: 'rm', ret: 'ENOENT', age_ns: 0 }),
    ]);
    expect(events.filter((e) => e.path === outside)).toEqual([]);
  });

  it('forgets a path once it is deleted, so a new file under it has its own age', async () => {
    const path = uniquePath();
    const events = await snoop({}, async () => {
      await scope.runInside('/bin/sh', ['-c', `echo x > ${path} && sleep 0.3 && rm ${path} && echo y > ${path} && rm ${path}`]);
    });
    const deletions = events.filter((e) => e.path === path);
    expect(deletions).toHaveLength(2);
    expect(Number(deletions[0].age_ns) / 1e6).toBeGreaterThanOrEqual(300);
    // The second file lived for two quick commands, not since the first creation.
    expect(Number(deletions[1].age_ns)).toBeGreaterThan(0);
    expect(Number(deletions[1].age_ns) / 1e6).toBeLessThan(300);
  });

  it('does not see creations by a comm the filter leaves out: age unknown', async () => {
    const path = uniquePath();
    const events = await snoop({ comm: 'rm' }, async () => {
      await scope.runInside('/bin/sh', ['-c', `echo x > ${path} && rm ${path}`]);
    });
    expect(events.filter((e) => e.path === path)).toEqual([expect.objectContaining({ comm: 'rm', age_ns: 0, ret: 0 })]);
  });
});
