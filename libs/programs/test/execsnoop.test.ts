import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventRecord } from '@fleettrace/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecordDecoder } from '../src/decode';
import { EXECSNOOP_EVENT, execsnoop } from '../src/execsnoop/execsnoop';
import { buildPrograms } from './support/build';
import { createScope, loadProgram, trackKernelObjects, type TestScope } from './support/kernel';

const track = trackKernelObjects();
let scope: TestScope;
let dir: string;

beforeAll(() => {
  buildPrograms();
  scope = createScope('execsnoop');
  dir = mkdtempSync(join(tmpdir(), 'ft-execsnoop-'));
}, 120_000);

afterAll(() => {
  scope?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A copy of /bin/true under a name no other process on the host uses (comm keeps 15 bytes). */
function uniqueTrue(): { path: string; comm: string } {
  const comm = `ft${Math.random().toString(36).slice(2, 12)}`;
  const path = join(dir, comm);
  copyFileSync('/bin/true', path);
  return { path, comm };
}

/** Runs execsnoop with these params around `workload`, returning every event it emitted. */
async function snoop(params: unknown, workload: () => Promise<void>): Promise<EventRecord[]> {
  const decode = createRecordDecoder(EXECSNOOP_EVENT);
  const events: EventRecord[] = [];
  const obj = track(loadProgram(execsnoop, params, scope.filter));
  try {
    obj.ringBuffer('events', (batch) => batch.forEach((buf, offset) => events.push(decode(buf, offset))));
    obj.attachAll();
    await workload();
  } finally {
    // close() detaches, then drains what is left in the ring buffer.
    await obj.close();
  }
  return events;
}

describe('execsnoop in the kernel', () => {
  it('reports execs inside the cgroup scope and none outside it', async () => {
    const inside = uniqueTrue();
    const outside = uniqueTrue();
    const events = await snoop({}, async () => {
      await scope.runInside(inside.path, ['--first', 'second arg']);
      await scope.runOutside(outside.path, ['x']);
    });

    const seen = events.filter((e) => e.comm === inside.comm);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      filename: inside.path,
      args: `${inside.path} --first second arg`,
      args_count: 3,
      args_truncated: 0,
      filename_truncated: 0,
      retval: 0,
      uid: process.getuid!(),
    });
    expect(seen[0].pid).toEqual(expect.any(Number));
    expect(seen[0].ppid).toEqual(expect.any(Number));
    expect(seen[0].time_ns).toBeGreaterThan(0);
    expect(events.filter((e) => e.comm === outside.comm || e.filename === outside.path)).toEqual([]);
  });

  it('keeps only failed execs with failedOnly, showing the errno', async () => {
    const ok = uniqueTrue();
    const missing = join(dir, 'no-such-program');
    const events = await snoop({ failedOnly: true }, async () => {
      await scope.runInside(ok.path, []);
      await expect(scope.runInside(missing, ['a'])).rejects.toThrow();
    });
    expect(events.filter((e) => e.comm === ok.comm)).toEqual([]);
    const failed = events.filter((e) => e.filename === missing);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ retval: 'ENOENT', args: `${missing} a` });
  });

  it('filters on the comm the exec gives the process', async () => {
    const wanted = uniqueTrue();
    const other = uniqueTrue();
    const events = await snoop({ comm: wanted.comm }, async () => {
      await scope.runInside(wanted.path, []);
      await scope.runInside(other.path, []);
    });
    expect(events.map((e) => e.comm)).toEqual([wanted.comm]);
  });

  it('says when arguments were cut', async () => {
    const program = uniqueTrue();
    const many = Array.from({ length: 20 }, (_, i) => `a${i}`);
    const long = 'x'.repeat(300);
    const events = await snoop({ comm: program.comm }, async () => {
      await scope.runInside(program.path, many);
      await scope.runInside(program.path, [long]);
      await scope.runInside(program.path, ['y'.repeat(127)]);
    });
    expect(events).toHaveLength(3);
    expect(events[0]).toMatchObject({ args_count: 16, args_truncated: 1, args: [program.path, ...many.slice(0, 15)].join(' ') });
    expect(events[1]).toMatchObject({ args_count: 2, args_truncated: 1, args: `${program.path} ${'x'.repeat(127)}` });
    // Exactly as long as the per-argument limit allows: complete, not cut.
    expect(events[2]).toMatchObject({ args_count: 2, args_truncated: 0 });
  });
});
