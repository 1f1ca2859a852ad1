import { describe, expect, it } from 'vitest';
import { FOLDED_STACK_ATTRIBUTES, PROCESS_ATTRIBUTES } from '@fleettrace/programs';
import { countSeries } from './counts-series';

describe('counts as bounded series', () => {
  const entries = [
    { key: { pid: 1, comm: 'a' }, value: 5 },
    { key: { pid: 2, comm: 'b' }, value: 50 },
    { key: { pid: 3, comm: 'c' }, value: 7 },
    { key: { pid: 4, comm: 'd' }, value: 1 },
  ];

  it('keeps the top N keys, largest first, and sums the rest into `other`', () => {
    expect(countSeries(entries, PROCESS_ATTRIBUTES, 2)).toEqual([
      { attributes: { 'process.pid': 2, 'process.executable.name': 'b' }, value: 50 },
      { attributes: { 'process.pid': 3, 'process.executable.name': 'c' }, value: 7 },
      { attributes: { 'process.pid': 'other', 'process.executable.name': 'other' }, value: 6 },
    ]);
  });

  it('has no `other` series when every key fits', () => {
    expect(countSeries(entries, PROCESS_ATTRIBUTES, 4)).toHaveLength(4);
  });

  it('joins fields mapped to one attribute, and leaves out fields not mapped', () => {
    const series = countSeries([{ key: { comm: 'sh', user_stack_id: 3, kernel_stack_id: 9, pid: 1 }, value: 1 }], FOLDED_STACK_ATTRIBUTES, 5);
    expect(series).toEqual([{ attributes: { 'fleettrace.stack.folded': 'sh;3;9' }, value: 1 }]);
  });
});
