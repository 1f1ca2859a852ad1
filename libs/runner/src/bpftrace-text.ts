import { log2BucketIndices } from './bpftrace-hist';
import { member, splitKey, type JsonNode } from './bpftrace-json';
import type { ScriptMap } from './bpftrace-maps';

/**
 * bpftrace 0.17's text rendering (src/output.cpp, TextOutput) of what its `-f json` mode prints, so
 * that a run's lines are the lines `bpftrace` prints without `-f json`. Where JSON lost what the text
 * needs, the script's own text (ScriptMap) tells it: whether a map has keys and how many, hist or
 * lhist, stack and symbol values.
 *
 * Known differences, where neither JSON nor the script tells: print(@m) of an empty map (JSON
 * prints nothing, the text mode a blank line; at exit the script tells); a key part holding a comma
 * in a map of several keys; an array value outside a struct (printed as a tuple); `print(@h, top,
 * div)` of a hist with div > 1 (bars drawn from the divided counts); a log2 hist whose first
 * non-empty bucket is at 2^32 or above (see bpftrace-hist.ts).
 */

export type MapMessageType = 'map' | 'hist' | 'stats';

/** Map values printed one after the other without a newline between entries (their text ends in one, or bpftrace forgets it). */
const UNSEPARATED_VALUE_FUNCTIONS = new Set(['kstack', 'ustack', 'ksym', 'usym', 'ntop']);
const BAR_WIDTH = 52;

/** What bpftrace prints for a map, print(@m) or at exit; `data` is the map's value in the JSON message (`{"@m": data}`). */
export function mapText(type: MapMessageType, name: string, data: JsonNode, shape: ScriptMap | undefined): string {
  const entries: [string | undefined, JsonNode][] = isKeyed(type, data, shape) && data.type === 'object' ? data.entries : [[undefined, data]];
  const label = (key: string | undefined): string => (key === undefined ? name : `${name}[${textKey(key, shape)}]`);
  switch (type) {
    case 'hist': {
      const linear = shape?.valueFunction === 'lhist' || (shape?.valueFunction !== 'hist' && !entries.every(([, buckets]) => log2BucketIndices(boundsOf(buckets))));
      return `${entries.map(([key, buckets]) => `${label(key)}: \n${histText(buckets, linear)}`).join('\n')}\n`;
    }
    case 'stats':
      return `${entries.map(([key, value]) => `${label(key)}: ${statsText(value)}`).join('\n')}\n\n`;
    case 'map': {
      const unseparated =
        UNSEPARATED_VALUE_FUNCTIONS.has(shape?.valueFunction ?? '') || entries.every(([, value]) => value.type === 'string' && value.value.startsWith('\n'));
      return `${entries.map(([key, value]) => `${label(key)}: ${valueText(value)}`).join(unseparated ? '' : '\n')}\n`;
    }
  }
}

/** What bpftrace prints at exit for a map with no entries, which `-f json` leaves out. */
export function emptyMapText(shape: ScriptMap | undefined): string {
  return shape?.valueFunction === 'stats' || shape?.valueFunction === 'avg' ? '\n\n' : '\n';
}

/** A value as bpftrace prints it: tuples in parentheses, structs as `{ .field = value }`, arrays in a struct in brackets. */
export function valueText(node: JsonNode, inStruct = false): string {
  switch (node.type) {
    case 'number':
      return node.raw;
    case 'string':
      return node.value;
    case 'literal':
      return String(node.value);
    case 'array':
      return inStruct ? `[${node.items.map((item) => valueText(item, true)).join(',')}]` : `(${node.items.map((item) => valueText(item)).join(', ')})`;
    case 'object':
      return `{ ${node.entries.map(([field, value]) => `.${field} = ${valueText(value, true)}`).join(', ')} }`;
  }
}

function isKeyed(type: MapMessageType, data: JsonNode, shape: ScriptMap | undefined): boolean {
  if (data.type !== 'object') return false;
  if (shape) return shape.keys > 0;
  // Without the script: an object is a keyed map, except a stats() value of a map without keys.
  return !(type === 'stats' && data.entries.map(([k]) => k).join() === 'count,average,total');
}

/** JSON joins a map's keys with ","; text with ", ". */
function textKey(key: string, shape: ScriptMap | undefined): string {
  return shape?.keys === 1 ? key : splitKey(key).join(', ');
}

function statsText(value: JsonNode): string {
  if (value.type !== 'object') return valueText(value);
  return value.entries.map(([name, n]) => `${name} ${valueText(n)}`).join(', ');
}

interface Bucket {
  min?: string;
  max?: string;
  count: string;
}

function bucketsOf(node: JsonNode): Bucket[] {
  if (node.type !== 'array') return [];
  return node.items.map((item) => {
    const bound = (key: string): string | undefined => {
      const n = member(item, key);
      return n?.type === 'number' ? n.raw : undefined;
    };
    return { min: bound('min'), max: bound('max'), count: bound('count') ?? '0' };
  });
}

function boundsOf(node: JsonNode): { min?: number; max?: number }[] {
  return bucketsOf(node).map(({ min, max }) => ({ min: min === undefined ? undefined : Number(min), max: max === undefined ? undefined : Number(max) }));
}

/** One row a bucket, as TextOutput::hist_to_str / lhist_to_str draw them. */
function histText(node: JsonNode, linear: boolean): string {
  const buckets = bucketsOf(node);
  const log2Indices = linear ? undefined : log2BucketIndices(boundsOf(node));
  const maxCount = Math.max(0, ...buckets.map((b) => Number(b.count)));
  return buckets
    .map((bucket, i) => {
      const header = log2Indices ? log2BucketLabel(log2Indices[i]) : linearBucketLabel(bucket);
      return `${header.padEnd(16)}${bucket.count.padStart(8)} |${bar(Number(bucket.count), maxCount).padEnd(BAR_WIDTH)}|\n`;
    })
    .join('');
}

/** bpftrace computes the bar in single precision: `int(count / (float)max * 52)`. */
function bar(count: number, maxCount: number): string {
  const width = Math.trunc(Math.fround(Math.fround(Math.fround(count) / Math.fround(maxCount)) * BAR_WIDTH));
  return '@'.repeat(width);
}

function log2BucketLabel(index: number): string {
  if (index === 0) return '(..., 0)';
  if (index === 1) return '[0]';
  if (index === 2) return '[1]';
  return `[${log2Label(index - 2)}, ${log2Label(index - 1)})`;
}

function log2Label(power: number): string {
  for (const [at, suffix] of [[40, 'T'], [30, 'G'], [20, 'M'], [10, 'K']] as const) {
    if (power >= at) return `${2 ** (power - at)}${suffix}`;
  }
  return String(2 ** power);
}

function linearBucketLabel({ min, max }: Bucket): string {
  if (min === undefined) return `(..., ${linearLabel(Number(max) + 1)})`;
  if (max === undefined) return `[${linearLabel(Number(min))}, ...)`;
  return `[${linearLabel(Number(min))}, ${linearLabel(Number(max) + 1)})`;
}

function linearLabel(n: number): string {
  if (n === 0) return '0';
  if (n % 1_048_576 === 0) return `${n / 1_048_576}M`;
  if (n % 1024 === 0) return `${n / 1024}K`;
  return String(n);
}
