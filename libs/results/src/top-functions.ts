import type { FunctionWeight, StacksOutput, TopFunctions } from '@fleettrace/contracts';

export type { FunctionWeight, TopFunctions };
import { topLimit } from './limit';
import { byCodeUnits } from './order';

function top(values: ReadonlyMap<string, number>, total: number, limit: number): FunctionWeight[] {
  return [...values]
    .sort(([na, a], [nb, b]) => b - a || byCodeUnits(na, nb))
    .slice(0, limit)
    .map(([name, value]) => ({ name, value, percent: total > 0 ? (value / total) * 100 : 0 }));
}

/**
 * The heaviest functions of a stacks output by self and by total value, `limit` of each (20 unless
 * given), largest first, ties by name. Frames count as they are folded, the process-name root too: a
 * folded stack does not say which of its leading frames are not code (bpftrace puts map keys there).
 */
export function topFunctions(output: StacksOutput, options: { limit?: number } = {}): TopFunctions {
  const limit = topLimit(options.limit);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (const { stack, value } of output.entries) {
    const frames = stack.split(';');
    const leaf = frames[frames.length - 1];
    self.set(leaf, (self.get(leaf) ?? 0) + value);
    for (const frame of new Set(frames)) inclusive.set(frame, (inclusive.get(frame) ?? 0) + value);
    total += value;
  }
  return { total, bySelf: top(self, total, limit), byTotal: top(inclusive, total, limit) };
}
