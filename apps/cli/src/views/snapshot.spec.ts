import { describe, expect, it } from 'vitest';
import type { OutputView } from '@fleettrace/contracts';
import { snapshotLines } from './snapshot';

const at = '2026-12-04T10:00:00.250Z';

describe('snapshotLines: the live view of a job with --interval', () => {
  it('draws the merged histogram as bpftrace does and the top counts, under the time and hosts of the snapshot', () => {
    const hist = { kind: 'hist', name: 'latency', unit: 'us', buckets: [{ low: 2, high: 4, count: 3 }, { low: 8, high: 16, count: 6 }] } as unknown as OutputView;
    const entries = Array.from({ length: 12 }, (_, i) => ({ key: { comm: `p${i}` }, value: 100 - i }));
    const counts = { kind: 'counts', name: 'calls', unit: 'count', keyFields: ['comm'], entries, total: 0, other: { value: 0, keys: 0 } } as unknown as OutputView;
    const lines = snapshotLines({ at, hosts: 2, merged: [hist, counts] });
    expect(lines[0]).toMatch(/^at \d\d:\d\d:00\.250, merged over 2 hosts:$/);
    expect(lines.slice(1, 7)).toEqual([
      '',
      '@latency (us):',
      `[2, 4)                 3 |${'@'.repeat(26).padEnd(52)}|`,
      `[4, 8)                 0 |${' '.repeat(52)}|`,
      `[8, 16)                6 |${'@'.repeat(52)}|`,
      '',
    ]);
    expect(lines[7]).toBe('@calls:');
    // Ten rows of the twelve keys, then the rest as one line: it shares the screen with the progress.
    expect(lines.filter((l) => /^p\d+\s/.test(l))).toHaveLength(10);
    expect(lines).toContain('(2 more keys: 179, 15.8%)');
    expect(lines.at(-1)).toBe('');
  });

  it('draws nothing for a snapshot with no histogram or counts (stacks wait for the result)', () => {
    expect(snapshotLines({ at, hosts: 1, merged: [] })).toEqual([]);
  });
});
