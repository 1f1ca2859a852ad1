import { describe, expect, it } from 'vitest';
import type { AggregateOutput } from '@fleettrace/contracts';
import { capEntries } from './output-caps';

describe('capEntries', () => {
  it('keeps the largest counts entries and adds the rest to dropped', () => {
    const output: AggregateOutput = { kind: 'counts', name: 'c', unit: 'n', keyFields: ['k'], entries: [{ key: { k: 'a' }, value: 1 }, { key: { k: 'b' }, value: 3 }], dropped: 4 };
    expect(capEntries(output, 1)).toEqual({ ...output, entries: [{ key: { k: 'b' }, value: 3 }], dropped: 5 });
  });

  it('leaves histograms and outputs within the cap as they are', () => {
    const hist: AggregateOutput = { kind: 'hist', name: 'h', unit: 'ns', buckets: [{ low: 0, high: 1, count: 1 }, { low: 1, high: 2, count: 1 }] };
    expect(capEntries(hist, 1)).toBe(hist);
    const stacks: AggregateOutput = { kind: 'stacks', name: 's', unit: 'samples', entries: [{ stack: 'a', value: 1 }], unsymbolized: 0, lost: 0 };
    expect(capEntries(stacks, 1)).toBe(stacks);
  });
});
