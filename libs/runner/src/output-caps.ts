import type { AggregateOutput } from '@fleettrace/contracts';

/**
 * The run's cap on counts and stacks entries per output: the largest `max` are kept, the rest
 * counted in the output's `dropped` (the events outputs' rule, for maps). Entries arrive sorted,
 * largest first, from every kind's reader; they are sorted again here so the cap never depends on
 * that. Histograms are left whole: their buckets are bounded by the value range already.
 */
export function capEntries(output: AggregateOutput, max: number): AggregateOutput {
  if (output.kind === 'hist' || output.entries.length <= max) return output;
  const dropped = output.entries.length - max + (output.dropped ?? 0);
  if (output.kind === 'counts') {
    const entries = [...output.entries].sort((a, b) => b.value - a.value).slice(0, max);
    return { ...output, entries, dropped };
  }
  const entries = [...output.entries].sort((a, b) => b.value - a.value).slice(0, max);
  return { ...output, entries, dropped };
}

export function capOutputs(outputs: readonly AggregateOutput[], max: number): AggregateOutput[] {
  return outputs.map((output) => capEntries(output, max));
}
