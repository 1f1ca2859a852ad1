import { writeFileSync } from 'node:fs';
import type { EventRecord } from '@fleettrace/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensnoop } from '../src/opensnoop/opensnoop';
import { buildPrograms } from './support/build';
import { createScope, trackKernelObjects, type TestScope, collectEvents } from './support/kernel';
import { useTempDir } from './support/temp-dir';

const O_WRONLY = 0o1;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;

const track = trackKernelObjects();
let scope: TestScope;
const { uniquePath } = useTempDir('opensnoop');

beforeAll(() => {
  buildPrograms();
  scope = createScope('opensnoop');
}, 120_000);

afterAll(() => scope?.remove());

function snoop(params: unknown, workload: () => Promise<void>): Promise<EventRecord[]> {
  return collectEvents(track, opensnoop, params, scope.filter, workload);
}

describe('opensnoop in the kernel', () => {
  it('sees the unique path opened inside the scope, with flags and result, and not the same open outside', async () => {
    const existing = uniquePath();
    writeFileSync(existing, 'hello\n');
    const created = uniquePath();
    const missing = uniquePath();
    const events = await snoop({}, async () => {
      await scope.runInside('/bin/cat', [existing]);
      await scope.runInside('/bin/sh', ['-c', `echo hi > ${created}`]);
      await expect(scope.runInside('/bin/cat', [missing])).rejects.toThrow();
      await scope.runOutside('/bin/cat', [existing]);
      await scope.runOutside('/bin/cat', [created]);
    });

    const reads = events.filter((e) => e.path === existing);
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatchObject({ comm: 'cat', syscall: 'openat', dirfd: -100, flags: 0, uid: process.getuid!() });
    expect(reads[0].ret).toBeGreaterThanOrEqual(0);
    const writes = events.filter((e) => e.path === created);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ comm: 'sh', flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o666 });
    expect(writes[0].ret).toBeGreaterThanOrEqual(0);
    expect(events.filter((e) => e.path === missing)).toEqual([expect.objectContaining({ comm: 'cat', ret: 'ENOENT' })]);
  });

  it('keeps only failed opens with failedOnly', async () => {
    const existing = uniquePath();
    writeFileSync(existing, 'x');
    const missing = uniquePath();
    const events = await snoop({ failedOnly: true, comm: 'cat' }, async () => {
      await scope.runInside('/bin/cat', [existing]);
      await expect(scope.runInside('/bin/cat', [missing])).rejects.toThrow();
    });
    expect(events.filter((e) => e.path === existing)).toEqual([]);
    expect(events.filter((e) => e.path === missing)).toHaveLength(1);
    expect(events.every((e) => e.comm === 'cat' && typeof e.ret === 'string')).toBe(true);
  });
});
