import { kernelFunctionNames } from '@fleettrace/bpf-loader';
import type { AggregateOutput, CountEntry, CountsOutput, HistBucket, HistOutput, StacksOutput } from '@fleettrace/contracts';
import { StackTally, UNKNOWN_FRAME } from './stack-tally';

/**
 * Turns `bpftrace -f json` output, one JSON object a line, into fleettrace's typed outputs:
 *   {"type":"hist","data":{"@h":[{min,max,count}...]}}      → hist (log2 and lhist alike)
 *   {"type":"hist","data":{"@h":{"key":[...]}}}             → one hist per key, named `h[key]`
 *   {"type":"map","data":{"@c":{"a,1":5}}} / {"@c":5}        → counts; keys split into key0..keyN
 *   maps keyed by stacks (ustack/kstack, with other keys too) → stacks, folded: the other keys as
 *                                                               root frames, then the user stack, then the kernel stack
 *   {"type":"printf","data":"..."}                            → an event line (handed to onPrintf)
 * Maps are printed when bpftrace exits (SIGINT); a map printed twice keeps its last print.
 */
export const PRINTF_OUTPUT = 'printf';
/** Histogram buckets below bpftrace's range (no `min`) or above it (no `max`) get these bounds. */
const BELOW = -Number.MAX_SAFE_INTEGER;
const ABOVE = Number.MAX_SAFE_INTEGER;

interface RawBucket {
  min?: number;
  max?: number;
  count: number;
}

export class BpftraceOutputParser {
  private readonly aggregates = new Map<string, AggregateOutput>();
  /** Probes bpftrace reported attached; undefined until it says so. */
  attachedProbes: number | undefined;
  lostEvents = 0;
  /** Lines that were not bpftrace JSON (kept for error reports). */
  readonly otherLines: string[] = [];

  /** `isKernelFunction` tells a kernel stack from a user one (bpftrace prints both alike); by default, from /proc/kallsyms. */
  constructor(
    private readonly onPrintf: (text: string) => void,
    private readonly isKernelFunction: (name: string) => boolean = kallsymsFunctions(),
  ) {}

  /** One line of bpftrace's stdout. */
  feed(line: string): void {
    const trimmed = line.trim();
    if (!trimmed) return;
    let message: { type?: unknown; data?: unknown };
    try {
      message = JSON.parse(trimmed) as { type?: unknown; data?: unknown };
    } catch {
      this.otherLines.push(trimmed);
      return;
    }
    const data = message.data;
    switch (message.type) {
      case 'attached_probes':
        this.attachedProbes = Number((data as { probes?: unknown })?.probes ?? 0);
        return;
      case 'printf':
        if (typeof data === 'string') this.onPrintf(data.endsWith('\n') ? data.slice(0, -1) : data);
        return;
      case 'lost_events':
        this.lostEvents += Number((data as { events?: unknown })?.events ?? 0);
        return;
      case 'hist':
        for (const [mapName, value] of Object.entries(asObject(data))) this.addHist(outputName(mapName), value);
        return;
      case 'map':
      case 'stats':
        for (const [mapName, value] of Object.entries(asObject(data))) {
          const output = mapOutput(outputName(mapName), value, this.isKernelFunction);
          if (output) this.aggregates.set(output.name, output);
        }
        return;
      default:
        return;
    }
  }

  outputs(): AggregateOutput[] {
    return [...this.aggregates.values()];
  }

  private addHist(name: string, value: unknown): void {
    if (Array.isArray(value)) {
      this.aggregates.set(name, histFrom(name, value as RawBucket[]));
      return;
    }
    for (const [key, buckets] of Object.entries(asObject(value))) {
      if (Array.isArray(buckets)) {
        const keyed = `${name}[${key}]`;
        this.aggregates.set(keyed, histFrom(keyed, buckets as RawBucket[]));
      }
    }
  }
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** `@x` → `x`; the anonymous map `@` → `map`. */
export function outputName(mapName: string): string {
  const bare = mapName.replace(/^@/, '');
  return bare || 'map';
}

export function histFrom(name: string, raw: readonly RawBucket[]): HistOutput {
  const buckets: HistBucket[] = raw
    .filter((b) => b.count > 0)
    .map((b) => ({ low: b.min ?? BELOW, high: b.max === undefined ? ABOVE : b.max + 1, count: b.count }));
  return { kind: 'hist', name, unit: 'value', buckets };
}

/**
 * A `map`/`stats` print as a typed output: stacks when its keys hold stacks, else counts. Maps whose
 * values are not numbers (strings, stats() tuples) are neither.
 */
export function mapOutput(name: string, value: unknown, isKernelFunction: (name: string) => boolean): AggregateOutput | undefined {
  if (typeof value === 'number') return { kind: 'counts', name, unit: 'count', keyFields: [], entries: [{ key: {}, value }] };
  const entries = Object.entries(asObject(value));
  if (entries.length === 0 || !entries.every(([, v]) => typeof v === 'number')) return undefined;
  const numeric = entries as [string, number][];
  if (numeric.some(([key]) => splitKey(key).some(isStack))) return stacksFrom(name, numeric, isKernelFunction);
  return countsFrom(name, numeric);
}

function countsFrom(name: string, entries: readonly [string, number][]): CountsOutput {
  const split = entries.map(([key]) => splitKey(key));
  // bpftrace joins multi-keys with ",": split only when every key splits alike, else keep it whole.
  const arity = split[0].length;
  const uniform = split.every((parts) => parts.length === arity);
  const parts = uniform ? split : entries.map(([key]) => [key]);
  const width = uniform ? arity : 1;
  const keyFields = width === 1 ? ['key'] : Array.from({ length: width }, (_, i) => `key${i}`);
  const result: CountEntry[] = entries.map(([, v], row) => ({
    key: Object.fromEntries(parts[row].map((part, i) => [keyFields[i], part])),
    value: v,
  }));
  return { kind: 'counts', name, unit: 'count', keyFields, entries: result };
}

/**
 * Stack keys folded as the catalog's stacks are: the key's other parts (comm, say) as root frames in
 * key order, then the user stack, then the kernel stack (marked `_[k]`), outermost first, offsets
 * dropped so that one function is one frame. A key with neither frames nor other parts (an empty
 * kstack of a sample in user mode) has nothing to draw and is left out.
 */
function stacksFrom(name: string, entries: readonly [string, number][], isKernelFunction: (name: string) => boolean): StacksOutput {
  const tally = new StackTally();
  for (const [key, value] of entries) {
    const roots: string[] = [];
    const user: string[] = [];
    const kernel: string[] = [];
    let unsymbolized = false;
    for (const part of splitKey(key)) {
      if (!isStack(part)) {
        if (part !== '') roots.push(part);
        continue;
      }
      const frames = parseStack(part);
      if (frames.some((frame) => frame.symbol === undefined)) unsymbolized = true;
      const inKernel = frames.length > 0 && frames.every((frame) => isKernelFrame(frame, isKernelFunction));
      (inKernel ? kernel : user).push(...frames.map(frameLabel));
    }
    tally.add({ roots, user, kernel, value, unsymbolized });
  }
  return tally.output(name, 'count');
}

/** Splits a bpftrace multi-key on its commas, keeping a stack (newline-framed lines) whole. */
export function splitKey(key: string): string[] {
  const parts: string[] = [];
  let i = 0;
  while (i <= key.length) {
    if (key[i] === '\n') {
      // A stack: "\n    frame\n    frame\n" — it ends at the newline before the next "," or the end.
      const end = key.indexOf('\n,', i + 1);
      const stop = end === -1 ? key.length : end + 1;
      parts.push(key.slice(i, stop));
      i = stop + 1;
      continue;
    }
    const comma = key.indexOf(',', i);
    const stop = comma === -1 ? key.length : comma;
    parts.push(key.slice(i, stop));
    i = stop + 1;
  }
  return parts;
}

function isStack(part: string): boolean {
  return part.includes('\n');
}

export interface BpftraceFrame {
  /** Function name, offset dropped; undefined when bpftrace could not name the address. */
  symbol?: string;
  address?: bigint;
  /** The mapped file, when bpftrace printed it (ustack(perf)). */
  module?: string;
}

/** Addresses as bpftrace prints them: 0x-prefixed, or bare hex in perf/raw modes (long enough not to be a name like "add"). */
const HEX_ADDRESS = /^(?:0x[0-9a-f]+|[0-9a-f]{8,})$/i;
/** Kernel addresses on x86-64 and arm64 lie in the upper half. */
const KERNEL_SPACE = 0xffff_8000_0000_0000n;

/**
 * One stack of a bpftrace map key, innermost frame first as bpftrace prints it, a frame a line:
 * "busy_leaf+39" / "0x7f848ce1a829" (default), "7f848ce1a829 busy_leaf+39 (/usr/bin/x)" (perf), "7f848ce1a829" (raw).
 */
export function parseStack(stack: string): BpftraceFrame[] {
  return stack
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      let text = line;
      let module: string | undefined;
      const inModule = /\s+\(([^()]*)\)$/.exec(text);
      if (inModule) {
        module = inModule[1];
        text = text.slice(0, inModule.index);
      }
      const [first, ...rest] = text.split(/\s+/);
      let address: bigint | undefined;
      let symbol: string | undefined = text;
      if (HEX_ADDRESS.test(first)) {
        address = BigInt(first.startsWith('0x') ? first : `0x${first}`);
        symbol = rest.length > 0 ? rest.join(' ') : undefined;
      }
      symbol = symbol?.replace(/\+(?:0x[0-9a-f]+|\d+)$/i, '');
      if (symbol === '' || symbol === UNKNOWN_FRAME) symbol = undefined;
      return { ...(symbol === undefined ? {} : { symbol }), ...(address === undefined ? {} : { address }), ...(module === undefined ? {} : { module }) };
    });
}

function isKernelFrame(frame: BpftraceFrame, isKernelFunction: (name: string) => boolean): boolean {
  if (frame.symbol !== undefined) return isKernelFunction(frame.symbol);
  return frame.address !== undefined && frame.address >= KERNEL_SPACE;
}

/** A raw address means nothing off the host: unnamed frames are their module, else [unknown]. */
function frameLabel(frame: BpftraceFrame): string {
  if (frame.symbol !== undefined) return frame.symbol;
  if (frame.module !== undefined) return `[${frame.module.slice(frame.module.lastIndexOf('/') + 1)}]`;
  return UNKNOWN_FRAME;
}

/** The host's kernel function names, read on first use; none if /proc/kallsyms cannot be read. */
function kallsymsFunctions(): (name: string) => boolean {
  let names: ReadonlySet<string> | undefined;
  return (name) => {
    if (!names) {
      try {
        names = kernelFunctionNames();
      } catch {
        names = new Set();
      }
    }
    return names.has(name);
  };
}

/** bpftrace's error lines, without its noise about RLIMIT_MEMLOCK (harmless on kernels that account by memcg). */
export function bpftraceErrors(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => line.trim() && !line.includes('RLIMIT_MEMLOCK'))
    .join('\n')
    .trim();
}
