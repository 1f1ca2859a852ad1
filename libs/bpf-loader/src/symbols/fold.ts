// Folded stacks, the flame-graph input format: "comm;outer;...;inner count" per line.
import { type Frame, frameName } from './frame';

export interface StackSample {
  /** The process name, the root of the stack. */
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

/** Identical stacks summed; lines sorted by stack. */
export function foldStacks(samples: Iterable<StackSample>, opts: FoldOptions = {}): string[] {
  const suffix = opts.kernelSuffix ?? '';
  const totals = new Map<string, bigint>();
  for (const s of samples) {
    const frames: string[] = [];
    if (s.comm !== undefined) frames.push(clean(s.comm));
    for (const f of [...(s.user ?? [])].reverse()) frames.push(clean(name(f)));
    for (const f of [...(s.kernel ?? [])].reverse()) frames.push(clean(name(f)) + suffix);
    if (frames.length === 0) continue;
    const key = frames.join(';');
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
