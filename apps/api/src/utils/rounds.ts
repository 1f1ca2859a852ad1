/**
 * Splits items into rounds holding at most one item per key, each key's items in their order: its
 * first item in the first round, its second in the second... A set-based statement (UPDATE ...
 * FROM unnest, INSERT ... ON CONFLICT DO UPDATE) may touch a row only once, so a batch goes to the
 * database as one statement per round, rounds in order: what applying the items one by one would
 * do, in as many round trips as the busiest key has items.
 */
export function inRounds<T>(items: readonly T[], keyOf: (item: T) => string): T[][] {
  const rounds: T[][] = [];
  const seen = new Map<string, number>();
  for (const item of items) {
    const key = keyOf(item);
    const round = seen.get(key) ?? 0;
    seen.set(key, round + 1);
    (rounds[round] ??= []).push(item);
  }
  return rounds;
}
