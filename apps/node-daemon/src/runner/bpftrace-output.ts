import type { AggregateOutput, CountEntry, HistBucket, HistOutput } from '@fleettrace/contracts';

/**
 * Turns `bpftrace -f json` output, one JSON object a line, into fleettrace's typed outputs:
 *   {"type":"hist","data":{"@h":[{min,max,count}...]}}      → hist (log2 and lhist alike)
 *   {"type":"hist","data":{"@h":{"key":[...]}}}             → one hist per key, named `h[key]`
 *   {"type":"map","data":{"@c":{"a,1":5}}} / {"@c":5}        → counts; keys split into key0..keyN
 *   map keys that are stacks (ustack/kstack: lines)           → counts keyed by the folded stack
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

  constructor(private readonly onPrintf: (text: string) => void) {}

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
          const counts = countsFrom(outputName(mapName), value);
          if (counts) this.aggregates.set(counts.name, counts);
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

/** A `map`/`stats` print as counts; maps whose values are not numbers (strings, stats() tuples) are not counts. */
export function countsFrom(name: string, value: unknown): AggregateOutput | undefined {
  if (typeof value === 'number') return { kind: 'counts', name, unit: 'count', keyFields: [], entries: [{ key: {}, value }] };
  const entries = Object.entries(asObject(value));
  if (entries.length === 0 || !entries.every(([, v]) => typeof v === 'number')) return undefined;
  const split = entries.map(([key]) => splitKey(key));
  // bpftrace joins multi-keys with ",": split only when every key splits alike, else keep it whole.
  const arity = split[0].length;
  const uniform = split.every((parts) => parts.length === arity);
  const parts = uniform ? split : entries.map(([key]) => [key]);
  const width = uniform ? arity : 1;
  const keyFields =
    width === 1 ? [parts.some((p) => isStack(p[0])) ? 'stack' : 'key'] : Array.from({ length: width }, (_, i) => `key${i}`);
  const result: CountEntry[] = entries.map(([, v], row) => ({
    key: Object.fromEntries(parts[row].map((part, i) => [keyFields[i], isStack(part) ? foldStack(part) : part])),
    value: v as number,
  }));
  return { kind: 'counts', name, unit: 'count', keyFields, entries: result };
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

/** bpftrace prints stacks innermost first, one frame a line; folded stacks go outermost first, `;`-joined. */
export function foldStack(stack: string): string {
  return stack
    .split('\n')
    .map((frame) => frame.trim())
    .filter(Boolean)
    .reverse()
    .join(';');
}

/** bpftrace's error lines, without its noise about RLIMIT_MEMLOCK (harmless on kernels that account by memcg). */
export function bpftraceErrors(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => line.trim() && !line.includes('RLIMIT_MEMLOCK'))
    .join('\n')
    .trim();
}
