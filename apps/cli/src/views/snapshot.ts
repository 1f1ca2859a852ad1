import type { CountsOutput, HistOutput, OutputView } from '@fleettrace/contracts';
import { countsLines } from './counts';
import { histLines } from './hist';
import { formatEventTime } from './events';

/** Top rows of a counts output in the live view: it shares the screen with the progress line. */
const LIVE_COUNTS_ROWS = 10;

/**
 * A job's latest snapshot as the live view above its progress: the merged histograms drawn as
 * bpftrace draws them and the top counts, as they stood at `at` (stacks wait for the result).
 */
export function snapshotLines(snapshot: { at: string; hosts: number; merged: readonly OutputView[] }, color = false): string[] {
  const clock = formatEventTime(BigInt(Date.parse(snapshot.at)) * 1_000_000n);
  const blocks = snapshot.merged.flatMap((output) => {
    if (output.kind === 'hist') return [histLines(output as HistOutput)];
    if (output.kind === 'counts') return [countsLines(output as CountsOutput, new Map(), LIVE_COUNTS_ROWS, color)];
    return [];
  });
  if (blocks.length === 0) return [];
  const header = `at ${clock}, merged over ${snapshot.hosts} host${snapshot.hosts === 1 ? '' : 's'}:`;
  return [header, ...blocks.flatMap((block) => ['', ...block]), ''];
}
