// A ring buffer nobody drains fills up; each record it refuses from then on must be counted in
// ft_lost_events (common/events.bpf.h), which the runner reports as the run's lostEvents.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOST_EVENTS_GLOBAL } from '../src/common/events';
import { createRecordDecoder } from '../src/decode';
import type { EventsOutputSpec } from '../src/manifest';
import { opensnoop } from '../src/opensnoop/opensnoop';
import { buildPrograms } from './support/build';
import { createScope, loadProgram, trackKernelObjects, type TestScope } from './support/kernel';

const OPENS = 2000;
/** The smallest ring buffer: one page, room for about a dozen opensnoop records of 312 bytes. */
const ONE_PAGE = 4096;
/** Opens a shell makes of its own when it starts (ld.so.cache, libc, ...): not ours, but in the scope. */
const SHELL_OPENS_AT_MOST = 20;

const track = trackKernelObjects();
const decode = createRecordDecoder((opensnoop.outputs[0] as EventsOutputSpec).layout);
let scope: TestScope;

beforeAll(() => {
  buildPrograms();
  scope = createScope('lost-events');
}, 120_000);

afterAll(() => scope?.remove());

/**
 * opensnoop around one shell in the scope that tries to open OPENS missing paths, with nothing
 * draining the ring buffer until the shell is done; then what was read and the lost count.
 */
async function opensWithoutDraining(maxEntries: Record<string, number>): Promise<{ paths: string[]; lost: number; prefix: string }> {
  const prefix = `/nonexistent-ft-lost-${process.pid}-${Math.random().toString(36).slice(2, 8)}-`;
  const obj = track(loadProgram(opensnoop, {}, scope.filter, { maxEntries }));
  const paths: string[] = [];
  let lost: number;
  try {
    obj.attachAll();
    await scope.runInside('/bin/sh', ['-c', `exec 2>/dev/null; i=0; while [ $i -lt ${OPENS} ]; do true < ${prefix}$i; i=$((i+1)); done`]);
    for (const link of obj.links) link.close();
    // Nothing can add to it once detached.
    lost = Number(obj.readGlobal(LOST_EVENTS_GLOBAL).readBigUInt64LE(0));
    obj.ringBuffer('events', (batch) => batch.forEach((buf, offset) => paths.push(String(decode(buf, offset).path))));
  } finally {
    await obj.close(); // its last drain reads what the buffer holds
  }
  return { paths, lost, prefix };
}

describe('records a full ring buffer refuses', () => {
  it('are none while the buffer has room, and each one is counted once it is full', async () => {
    // opensnoop's own buffer (1 MiB) holds the run's ~2,000 records of 312 bytes without a reader.
    const roomy = await opensWithoutDraining({});
    expect(roomy.lost).toBe(0);
    expect(roomy.paths.filter((p) => p.startsWith(roomy.prefix))).toHaveLength(OPENS);
    const shellOwn = roomy.paths.length - OPENS;
    expect(shellOwn).toBeLessThanOrEqual(SHELL_OPENS_AT_MOST);

    const full = await opensWithoutDraining({ events: ONE_PAGE });
    expect(full.paths.length).toBeLessThan(16);
    // Every open the same shell made is either read or counted lost, and none is counted twice.
    expect(full.paths.length + full.lost).toBe(OPENS + shellOwn);
  });
});
