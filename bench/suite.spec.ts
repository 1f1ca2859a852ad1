import { describe, expect, it } from 'vitest';
import { renderTable } from './suite';

describe('renderTable', () => {
  it('checks a target on the value itself where a metric has no reference', () => {
    const table = renderTable({
      metrics: [
        { name: 'dispatch p99', value: 850, unit: 'ms', target: { op: '<=', value: 1000 } },
        { name: 'cancel p99', value: 1250, unit: 'ms', target: { op: '<=', value: 1000 } },
      ],
    });
    const [, met, missed] = table.split('\n');
    expect(met).toMatch(/dispatch p99 \(ms\)\s+850\s+-\s+-\s+<= 1,000 ms\s+yes/);
    expect(missed).toMatch(/cancel p99 \(ms\)\s+1,250\s+-\s+-\s+<= 1,000 ms\s+NO/);
  });

  it('still checks a target on the ratio to a reference', () => {
    const table = renderTable({
      metrics: [{ name: 'load', value: 2, unit: 'ms', reference: { name: 'C', value: 4 }, ratio: 0.5, target: { op: '<=', ratio: 0.1 } }],
    });
    expect(table.split('\n')[1]).toMatch(/0\.500\s+<= 0\.1\s+NO/);
  });
});
