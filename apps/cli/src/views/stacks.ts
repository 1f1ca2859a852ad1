import type { StacksOutput } from '@fleettrace/contracts';
import { topFunctions } from '@fleettrace/results';
import { besideEachOther, renderTable } from './table';

/**
 * A stacks output in a terminal: where the samples were spent (self) and what each function with
 * its callees weighs (total), side by side when they fit. The whole picture is the flame graph.
 */
export function stacksLines(output: StacksOutput, limit: number, columns: number | undefined, color = false): string[] {
  const top = topFunctions(output, { limit });
  const unit = output.unit.toUpperCase();
  const table = (title: string, rows: typeof top.bySelf) => [
    title,
    ...renderTable(
      [
        { key: 'value', header: unit, align: 'right', thousands: true },
        { key: 'percent', header: '%', align: 'right' },
        { key: 'name', header: 'FUNCTION' },
      ],
      rows.map((r) => ({ ...r, percent: r.percent.toFixed(1) })),
      color,
    ),
  ];
  const self = table('by self:', top.bySelf);
  const total = table('by total (with callees):', top.byTotal);
  const width = Math.max(...self.map((l) => l.length)) + 3 + Math.max(...total.map((l) => l.length));
  const body = columns !== undefined && width <= columns ? besideEachOther(self, total) : [...self, '', ...total];
  const notes = [
    `${output.entries.length.toLocaleString('en-US')} distinct stacks, ${top.total.toLocaleString('en-US')} ${output.unit}`,
    output.unsymbolized > 0 ? `${output.unsymbolized.toLocaleString('en-US')} in stacks with unnamed frames` : '',
    output.lost > 0 ? `${output.lost.toLocaleString('en-US')} whose stack was lost` : '',
  ].filter(Boolean);
  return [`@${output.name}: ${notes.join('; ')}`, ...body];
}
