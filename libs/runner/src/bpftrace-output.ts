import { getSystemErrorName } from 'node:util';
import { kernelFunctionNames } from '@fleettrace/bpf-loader';
import type { AggregateOutput, CountEntry, CountsOutput, HistBucket, HistOutput, StacksOutput } from '@fleettrace/contracts';
import { log2BucketIndices, log2BucketRange } from './bpftrace-hist';
import { member, parseOrderedJson, splitKey, type JsonNode } from './bpftrace-json';
import { scriptMaps, SNAPSHOT_BEGIN, SNAPSHOT_END, type ScriptMap } from './bpftrace-maps';
import { emptyMapText, mapText, valueText, type MapMessageType } from './bpftrace-text';
import { StackTally, UNKNOWN_FRAME } from './stack-tally';

/**
 * Reads `bpftrace -f json` output, one JSON object a line, two ways at once.
 *
 * As text: the lines `bpftrace` would print without `-f json`, each handed to onLine once its "\n"
 * came. printf, time(), join(), cat(), system() and print() output are fragments of a line, joined
 * until a newline (join() and print() end theirs with one, as the text mode does); maps, printed by
 * print(@m) or at exit, print as the text mode draws them (bpftrace-text.ts). At exit bpftrace writes
 * two blank lines and then every map of the script in name order, the empty ones as blank lines,
 * which JSON leaves out: the script's text (scriptMaps) says which maps there are. Not lines: the
 * "Attaching N probes..." banner (the count includes fleettrace's own stop probe), "Lost N events"
 * (a counter), and helper errors (warnings, passed to onWarning; bpftrace 0.17 reports them only
 * with -k).
 *
 * As fleettrace's typed outputs, from every map print:
 *   {"type":"hist","data":{"@h":[{min,max,count}...]}}      → hist (log2 and lhist alike)
 *   {"type":"hist","data":{"@h":{"key":[...]}}}             → one hist per key, named `h[key]`
 *   {"type":"map","data":{"@c":{"a,1":5}}} / {"@c":5}        → counts; keys split into key0..keyN
 *   maps keyed by stacks (ustack/kstack, with other keys too) → stacks, folded: the other keys as
 *                                                               root frames, then the user stack, then the kernel stack
 * A map printed twice keeps its last print. Maps printed between the snapshot markers of
 * withMapSnapshots are neither lines nor outputs: they go to onSnapshot, one call a snapshot.
 */
export const PRINTF_OUTPUT = 'printf';
/** Histogram buckets below bpftrace's range (no `min`) or above it (no `max`) get these bounds. */
const BELOW = -Number.MAX_SAFE_INTEGER;
const ABOVE = Number.MAX_SAFE_INTEGER;
/** Output that is part of a line: printf, time(), cat(), system() (whose messages bpftrace calls "syscall"). */
const FRAGMENT_TYPES = new Set(['printf', 'time', 'cat', 'syscall']);
const MAP_TYPES = new Set<unknown>(['map', 'hist', 'stats']);

interface RawBucket {
  min?: number;
  max?: number;
  count: number;
}

export interface BpftraceOutputHandlers {
  /**
   * A complete line of bpftrace's text output, without its "\n". `atExit`: the line is part of what
   * bpftrace prints once it exits (the blank lines, then its maps) and the typed outputs hold it too:
   * a view that draws those may leave it out. The lines of a map with no typed output are not.
   */
  onLine(line: string, atExit: boolean): void;
  /** Something went wrong that does not end the run (a helper error). */
  onWarning?(warning: string): void;
  /** The maps one snapshot printed (see withMapSnapshots), once all of them have come. */
  onSnapshot?(outputs: AggregateOutput[]): void;
}

export interface BpftraceOutputOptions {
  /** The script bpftrace runs: its maps decide how they print as text (see scriptMaps). */
  script?: string;
  /** Tells a kernel stack from a user one (bpftrace prints both alike); by default, from /proc/kallsyms. */
  isKernelFunction?: (name: string) => boolean;
}

export class BpftraceOutputParser {
  private readonly aggregates = new Map<string, AggregateOutput>();
  private readonly maps: ReadonlyMap<string, ScriptMap>;
  private readonly isKernelFunction: (name: string) => boolean;
  /** The text of the line being written: fragments since the last newline. */
  private partialLine = '';
  /** bpftrace has written the blank lines it writes before printing its maps at exit. */
  private exiting = false;
  /**
   * The maps printed at exit, by name, as text, and whether a typed output holds it too: the empty
   * ones are added when it has finished.
   */
  private readonly exitPrints = new Map<string, { text: string; typed: boolean }>();
  /** The maps of the snapshot being printed, if one is. */
  private snapshot: Map<string, AggregateOutput> | undefined;
  lostEvents = 0;
  /** Lines that were not bpftrace JSON (kept for error reports). */
  readonly otherLines: string[] = [];

  constructor(
    private readonly handlers: BpftraceOutputHandlers,
    options: BpftraceOutputOptions = {},
  ) {
    this.maps = scriptMaps(options.script ?? '');
    this.isKernelFunction = options.isKernelFunction ?? kallsymsFunctions();
  }

  /** One line of bpftrace's stdout. */
  feed(line: string): void {
    const trimmed = line.trim();
    if (!trimmed) {
      // The only text -f json writes as it is: the two newlines before the maps at exit. The first
      // may end a line the script's printf left open: that line is the script's, not the exit's.
      const endsScriptLine = this.partialLine !== '';
      this.exiting = true;
      this.write('\n', !endsScriptLine);
      return;
    }
    let message: { type?: unknown; data?: unknown };
    try {
      message = JSON.parse(trimmed) as { type?: unknown; data?: unknown };
    } catch {
      this.otherLines.push(trimmed);
      return;
    }
    const data = message.data;
    if (FRAGMENT_TYPES.has(message.type as string)) {
      if (typeof data === 'string') this.write(data);
      return;
    }
    if (MAP_TYPES.has(message.type)) {
      this.onMapPrint(message.type as MapMessageType, data, trimmed);
      return;
    }
    switch (message.type) {
      case 'join':
        if (typeof data === 'string') this.write(`${data}\n`);
        return;
      case 'value':
        if (data === SNAPSHOT_BEGIN) this.snapshot = new Map();
        else if (data === SNAPSHOT_END) this.endSnapshot();
        else this.write(`${valueText(ordered(trimmed))}\n`);
        return;
      case 'lost_events':
        this.lostEvents += Number((data as { events?: unknown })?.events ?? 0);
        return;
      case 'helper_error':
        this.handlers.onWarning?.(helperErrorText(message as HelperError));
        return;
      default:
        return;
    }
  }

  /**
   * bpftrace has exited and every line of its stdout has been fed. `printedAllMaps`: it exited by
   * itself (not killed), so a map of the script it did not print at exit was empty.
   */
  end(printedAllMaps: boolean): void {
    if (this.exiting) {
      const names = new Set([...this.exitPrints.keys(), ...(printedAllMaps ? this.maps.keys() : [])]);
      // bpftrace keeps its maps in a std::map: by name, byte by byte, as JavaScript compares ASCII.
      for (const name of [...names].sort()) {
        const print = this.exitPrints.get(name);
        // An empty map prints as blank lines, which no view misses.
        this.write(print?.text ?? emptyMapText(this.maps.get(name)), print?.typed ?? true);
      }
      this.exitPrints.clear();
    }
    if (this.partialLine) this.handlers.onLine(this.partialLine, this.exiting);
    this.partialLine = '';
  }

  outputs(): AggregateOutput[] {
    return [...this.aggregates.values()];
  }

  private write(text: string, atExit = this.exiting): void {
    const lines = (this.partialLine + text).split('\n');
    this.partialLine = lines.pop()!;
    for (const line of lines) this.handlers.onLine(line, atExit);
  }

  private onMapPrint(type: MapMessageType, data: unknown, message: string): void {
    const printed = aggregatesOf(type, data, this.maps, this.isKernelFunction);
    if (this.snapshot) {
      for (const output of printed) this.snapshot.set(output.name, output);
      return;
    }
    for (const output of printed) this.aggregates.set(output.name, output);
    const maps = ordered(message);
    for (const [name, value] of maps?.type === 'object' ? maps.entries : []) {
      const text = mapText(type, name, value, this.maps.get(name));
      // A map of strings or stats() tuples has no typed output: its text is all there is of it.
      if (this.exiting) this.exitPrints.set(name, { text, typed: printed.some((o) => isOutputOf(o.name, name)) });
      else this.write(text);
    }
  }

  private endSnapshot(): void {
    if (!this.snapshot) return;
    const outputs = [...this.snapshot.values()];
    this.snapshot = undefined;
    this.handlers.onSnapshot?.(outputs);
  }
}

interface HelperError {
  helper?: unknown;
  retcode?: unknown;
  line?: unknown;
  col?: unknown;
}

/** As bpftrace's text mode words it (the errno by name: Node has no strerror). The script was given with -e: bpftrace calls it stdin. */
export function helperErrorText({ helper, retcode, line, col }: HelperError): string {
  const code = Number(retcode);
  let reason = String(code);
  if (code < 0) {
    let name: string;
    try {
      name = getSystemErrorName(code);
    } catch {
      name = `errno ${-code}`;
    }
    reason = `${name} (${code})`;
  }
  return `stdin:${String(line)}:${String(col)}: WARNING: Failed to ${String(helper)}: ${reason}`;
}

function ordered(message: string): JsonNode {
  return member(parseOrderedJson(message), 'data') ?? { type: 'literal', value: null };
}

/** The typed outputs of one map print. */
function aggregatesOf(type: MapMessageType, data: unknown, maps: ReadonlyMap<string, ScriptMap>, isKernelFunction: (name: string) => boolean): AggregateOutput[] {
  const outputs: AggregateOutput[] = [];
  for (const [mapName, value] of Object.entries(asObject(data))) {
    const name = outputName(mapName);
    if (type === 'hist') outputs.push(...histsFrom(name, value, maps.get(mapName)?.valueFunction));
    else {
      const output = mapOutput(name, value, isKernelFunction);
      if (output) outputs.push(output);
    }
  }
  return outputs;
}

/** `valueFunction`: hist or lhist, when the script says; else the buckets tell. */
function histsFrom(name: string, value: unknown, valueFunction: string | undefined): HistOutput[] {
  if (Array.isArray(value)) return [histFrom(name, value as RawBucket[], valueFunction)];
  return Object.entries(asObject(value))
    .filter(([, buckets]) => Array.isArray(buckets))
    .map(([key, buckets]) => histFrom(`${name}[${key}]`, buckets as RawBucket[], valueFunction));
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** The output is map `mapName`'s (a keyed hist makes one output a key, `h[key]`). */
function isOutputOf(output: string, mapName: string): boolean {
  const name = outputName(mapName);
  return output === name || output.startsWith(`${name}[`);
}

/** `@x` → `x`; the anonymous map `@` → `map`. */
export function outputName(mapName: string): string {
  const bare = mapName.replace(/^@/, '');
  return bare || 'map';
}

/** A log2 hist's buckets are placed by their index (bpftrace 0.17 writes wrong bounds past 2^31), an lhist's by their bounds. */
export function histFrom(name: string, raw: readonly RawBucket[], valueFunction?: string): HistOutput {
  const log2Indices = valueFunction === 'lhist' ? undefined : log2BucketIndices(raw);
  const buckets: HistBucket[] = raw
    .map((b, i) => {
      if (!log2Indices) return { low: b.min ?? BELOW, high: b.max === undefined ? ABOVE : b.max + 1, count: b.count };
      const { low, high } = log2BucketRange(log2Indices[i]);
      return { low: Math.max(low, BELOW), high, count: b.count };
    })
    .filter((b) => b.count > 0);
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

/**
 * bpftrace prints `attached_probes` before it loads and attaches anything, so that message is no sign
 * of tracing: a workload started on it went uncounted (CI run h3: 0 of 250 calls over SSH). This one
 * name is two things to bpftrace (0.17 here; the hook of its own runtime tests): the environment
 * variable it reads, and the line it writes to stderr, when that variable is set, after attaching its
 * last probe and before BEGIN runs. A launcher sets it in bpftrace's environment; the run is `running`
 * only on that line.
 */
export const BPFTRACE_NOTIFY_PROBES_ATTACHED = '__BPFTRACE_NOTIFY_PROBES_ATTACHED';

/** bpftrace's error lines, without its noise about RLIMIT_MEMLOCK (harmless on kernels that account by memcg). */
export function bpftraceErrors(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => line.trim() && !line.includes('RLIMIT_MEMLOCK') && line.trim() !== BPFTRACE_NOTIFY_PROBES_ATTACHED)
    .join('\n')
    .trim();
}
