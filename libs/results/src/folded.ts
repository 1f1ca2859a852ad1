import type { StacksOutput } from '@fleettrace/contracts';

/** Folded-stack text, a "stack value" line each in the output's order, as flamegraph.pl and speedscope read it. */
export function foldedText(output: StacksOutput): string {
  return output.entries.map((e) => `${e.stack} ${e.value}\n`).join('');
}
