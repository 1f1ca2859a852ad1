import { foldStack } from '@fleettrace/bpf-loader';
import type { StacksOutput } from '@fleettrace/contracts';

/** flamegraph.pl's mark of a kernel frame (stackcollapse-perf.pl --kernel writes it; its palettes colour it). */
export const KERNEL_FRAME_SUFFIX = '_[k]';
/** A frame no symbol names, as perf and flamegraph.pl write it. Raw addresses mean nothing off the host. */
export const UNKNOWN_FRAME = '[unknown]';
/** In place of a stack the kernel could not keep (stack map full, or a hash collision). */
export const LOST_STACK_FRAME = '[lost]';

/** One sample, or many alike, before folding; frames innermost first, as the kernel takes them. */
export interface StackSampleIn {
  /** Frames above the stacks, outermost first: the process name, a bpftrace map's other keys. */
  roots: readonly string[];
  user: readonly string[];
  kernel: readonly string[];
  value: number | bigint;
  /** Some frame could not be named (it shows as [unknown], or as the bare module it is in). */
  unsymbolized?: boolean;
  /** A stack of the sample was lost in the kernel. */
  lost?: boolean;
}

/**
 * Folds samples into a `stacks` output: equal folded stacks summed, largest first (ties by stack,
 * so hosts and runs agree on the order). The catalog's stack-keyed counts and bpftrace's stack keys
 * both go through here, so the two fold alike.
 */
export class StackTally {
  readonly #totals = new Map<string, bigint>();
  #unsymbolized = 0n;
  #lost = 0n;

  add(sample: StackSampleIn): void {
    const value = BigInt(sample.value);
    if (value === 0n) return;
    const stack = foldStack(
      { roots: sample.roots, user: collapseUnknown(sample.user), kernel: collapseUnknown(sample.kernel) },
      { kernelSuffix: KERNEL_FRAME_SUFFIX },
    );
    if (stack === undefined) return;
    this.#totals.set(stack, (this.#totals.get(stack) ?? 0n) + value);
    if (sample.unsymbolized) this.#unsymbolized += value;
    if (sample.lost) this.#lost += value;
  }

  output(name: string, unit: string): StacksOutput {
    const entries = [...this.#totals]
      .sort(([sa, a], [sb, b]) => (a !== b ? (a > b ? -1 : 1) : sa < sb ? -1 : sa > sb ? 1 : 0))
      .map(([stack, value]) => ({ stack, value: Number(value) }));
    return { kind: 'stacks', name, unit, entries, unsymbolized: Number(this.#unsymbolized), lost: Number(this.#lost) };
  }
}

/**
 * A run of unknown frames becomes one: how many there were says nothing (frame-pointer unwinding
 * through code without them), and stacks that differ only in it would not merge.
 */
function collapseUnknown(frames: readonly string[]): string[] {
  return frames.filter((frame, i) => frame !== UNKNOWN_FRAME || frames[i - 1] !== UNKNOWN_FRAME);
}
