import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AggregateOutput } from '@fleettrace/contracts';
import { workloadPath } from '@fleettrace/bpf-loader/testing';
import { createCgroup, removeCgroup, runInCgroup } from '@fleettrace/infra';
import { waitFor } from '@fleettrace/infra/stack';
import { BpftraceOutputParser } from '../src/bpftrace-output';
import { withMapSnapshots } from '../src/bpftrace-maps';
import { scopeScriptToCgroup } from '../src/bpftrace-scope';
import { cgroupSubtreeIds } from '../src/cgroup-subtree';
import { startBpftrace } from './support/direct-bpftrace';

describe('live snapshots of a bpftrace script\'s maps (real kernel, real bpftrace)', () => {
  let cgroupPath: string;
  beforeAll(() => {
    cgroupPath = createCgroup(`fleettrace-test/snapshots-${process.pid}/scope`);
  });
  afterAll(() => removeCgroup(join(cgroupPath, '..')));

  it('prints the counting map every second while bpftrace runs; the parser hands each snapshot on, apart from the lines', async () => {
    const script = 'tracepoint:syscalls:sys_enter_getpriority { @calls[comm] = count(); }\nBEGIN { printf("tracing\\n"); }';
    const snapshotted = withMapSnapshots(scopeScriptToCgroup(script, cgroupSubtreeIds(cgroupPath)).script, 1);
    const snapshots: { calls: number | undefined; bpftraceRunning: boolean }[] = [];
    const printed: string[] = [];
    // Its lines wait in bpftrace.lines until fed to the parser.
    const bpftrace = startBpftrace(snapshotted, ['-f', 'json']);
    const parser = new BpftraceOutputParser(
      {
        onLine: (line) => printed.push(line),
        onSnapshot: (outputs) => snapshots.push({ calls: workloadCalls(outputs), bpftraceRunning: bpftrace.exit() === undefined }),
      },
      { script },
    );
    let fed = 0;
    const feed = (): void => {
      for (; fed < bpftrace.lines.length; fed++) parser.feed(bpftrace.lines[fed]);
    };
    const untilSnapshotOf = (calls: number): Promise<void> =>
      waitFor(`a snapshot counting ${calls} getpriority calls`, async () => {
        feed();
        return snapshots.some((s) => s.calls === calls);
      }, 20_000, 50);
    try {
      await waitFor('bpftrace to start tracing', async () => {
        feed();
        return printed.includes('tracing');
      }, 30_000, 50);
      await runInCgroup(cgroupPath, workloadPath(), ['getpriority', '300']);
      await untilSnapshotOf(300);
      await runInCgroup(cgroupPath, workloadPath(), ['getpriority', '200']);
      await untilSnapshotOf(500);
      expect((await bpftrace.stop()).code).toBe(0);
    } finally {
      await bpftrace.kill();
    }
    feed();
    parser.end(true);
    // Each snapshot came while bpftrace ran, and the counts only grew.
    const seen = snapshots.filter((s) => s.calls !== undefined);
    expect(seen.every((s) => s.bpftraceRunning)).toBe(true);
    expect(seen.map((s) => s.calls)).toEqual([...seen.map((s) => s.calls)].sort((a, b) => a! - b!));
    expect(seen.map((s) => s.calls)).toEqual(expect.arrayContaining([300, 500]));
    // The snapshots' prints are no lines: the lines are the script's own and its maps at exit.
    expect(printed).toEqual(['tracing', '', '', '@calls[workload]: 500']);
    expect(parser.outputs()).toEqual([{ kind: 'counts', name: 'calls', unit: 'count', keyFields: ['key'], entries: [{ key: { key: 'workload' }, value: 500 }] }]);
  });
});

function workloadCalls(outputs: readonly AggregateOutput[]): number | undefined {
  const calls = outputs.find((o) => o.name === 'calls');
  return calls?.kind === 'counts' ? calls.entries.find((e) => e.key.key === 'workload')?.value : undefined;
}
