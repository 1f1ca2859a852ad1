// Folded stacks, the flame-graph input format: "comm;outer;...;inner count" per line.
import { type Frame, frameName } from './frame';

export interface StackSample {
  /** Frames above everything else, outermost first (a bpftrace map's other keys, say). */
  readonly roots?: readonly string[];
  /** The process name, the root of the stack (below `roots`). */
  readonly comm?: string;
  /** User frames, innermost first (bpf_get_stackid order): names or symbolized frames. */
  readonly user?: readonly (string | Frame)[];
  /** Kernel frames, innermost first; folded below the user frames (the kernel is called from user code). */
  readonly kernel?: readonly (string | Frame)[];
  readonly count: number | bigint;
}

export interface FoldOptions {
  /** Suffix marking kernel frames, as flamegraph.pl colours them: "_[k]". Default none. */
  readonly kernelSuffix?: string;
}

/** One stack folded, outermost frame first: "comm;main;leaf;entry_[k]"; undefined when it has no frame. */
export function foldStack(sample: Omit<StackSample, 'count'>, opts: FoldOptions = {}): string | undefined {
  const suffix = opts.kernelSuffix ?? '';
  const frames: string[] = [];
  for (const root of sample.roots ?? []) frames.push(clean(root));
  if (sample.comm !== undefined) frames.push(clean(sample.comm));
  for (const f of [...(sample.user ?? [])].reverse()) frames.push(clean(name(f)));
  for (const f of [...(sample.kernel ?? [])].reverse()) frames.push(clean(name(f)) + suffix);
  return frames.length === 0 ? undefined : frames.join(';');
}

/** Identical stacks summed; lines sorted by stack. */
export function foldStacks(samples: Iterable<StackSample>, opts: FoldOptions = {}): string[] {
  const totals = new Map<string, bigint>();
  for (const s of samples) {
    const key = foldStack(s, opts);
    if (key === undefined) continue;
    totals.set(key, (totals.get(key) ?? 0n) + BigInt(s.count));
  }
  return [...totals].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([stack, count]) => `${stack} ${count}`);
}

function name(f: string | Frame): string {
  return typeof f === 'string' ? f : frameName(f);
}

/** ';' separates frames and the last space the count: neither may appear inside a name. */
function clean(name: string): string {
  return name.replace(/;/g, ':').replace(/\s+/g, '_') || '[unknown]';
}
