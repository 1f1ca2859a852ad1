import { skipNonCode } from './bpftrace-source';

/**
 * The maps of a bpftrace script, found by reading its text: what `-f json` leaves out but printing a
 * map as bpftrace's text mode does needs (maps printed empty, lhist vs hist, how many keys), and
 * what to print for a live snapshot.
 *
 * A simple scan, not bpftrace's parser: every `@name` outside comments, strings and preprocessor
 * lines is a map (bpftrace refuses a map that is never assigned, so none is missed by being only
 * read); its key count comes from its first `@name[...]`, its value function from the first
 * `@name... = fn(` (or `= kstack` / `= ustack`). Limitations: a map named only inside a `#define`
 * macro is not seen; an assignment from a variable or another map leaves the value function unknown.
 */
export interface ScriptMap {
  /** As the script writes it, `@` included; `@` alone is the anonymous map. */
  name: string;
  /** How many keys index it (`@m[pid, comm]` → 2); 0 for a map without keys. */
  keys: number;
  /** The function that makes its values, where an assignment shows it: count, hist, lhist, stats, avg, kstack, ksym... */
  valueFunction?: string;
}

const IDENTIFIER = /[A-Za-z_][A-Za-z0-9_]*/y;
/** Builtins that make a value without parentheses. */
const BARE_VALUE_BUILTINS = new Set(['kstack', 'ustack']);

export function scriptMaps(script: string): Map<string, ScriptMap> {
  const maps = new Map<string, ScriptMap>();
  let i = 0;
  const skipSpaces = (): void => {
    while (i < script.length && /\s/.test(script[i])) i++;
  };
  const identifierAt = (at: number): string => {
    IDENTIFIER.lastIndex = at;
    return IDENTIFIER.exec(script)?.[0] ?? '';
  };
  while (i < script.length) {
    const skipped = skipNonCode(script, i);
    if (skipped !== i) {
      i = skipped;
      continue;
    }
    if (script[i] !== '@') {
      i++;
      continue;
    }
    const name = `@${identifierAt(i + 1)}`;
    i += name.length;
    const map = maps.get(name) ?? { name, keys: 0 };
    maps.set(name, map);
    skipSpaces();
    if (script[i] === '[') {
      const { end, topLevelCommas } = bracketed(script, i);
      if (map.keys === 0) map.keys = topLevelCommas + 1;
      i = end;
      skipSpaces();
    }
    if (script[i] === '=' && script[i + 1] !== '=') {
      i++;
      skipSpaces();
      const fn = identifierAt(i);
      const after = i + fn.length;
      let open = after;
      while (open < script.length && /\s/.test(script[open])) open++;
      if (fn && map.valueFunction === undefined && (script[open] === '(' || BARE_VALUE_BUILTINS.has(fn))) map.valueFunction = fn;
      i = after;
    }
  }
  return maps;
}

/** From the `[` at `open`: past its matching `]`, and how many commas separate its keys. */
function bracketed(script: string, open: number): { end: number; topLevelCommas: number } {
  let depth = 0;
  let commas = 0;
  let i = open;
  while (i < script.length) {
    const skipped = skipNonCode(script, i);
    if (skipped !== i) {
      i = skipped;
      continue;
    }
    const c = script[i++];
    if (c === '[' || c === '(' || c === '{') depth++;
    else if (c === ']' || c === ')' || c === '}') {
      if (--depth === 0) break;
    } else if (c === ',' && depth === 1) commas++;
  }
  return { end: i, topLevelCommas: commas };
}

/** What the snapshot probe prints around its maps, so that the output parser tells a snapshot from the script's own prints. */
export const SNAPSHOT_BEGIN = 'fleettrace:snapshot:begin';
export const SNAPSHOT_END = 'fleettrace:snapshot:end';

/**
 * The script plus a probe that prints every map of it each `seconds`, between the snapshot markers,
 * so that a run can report its maps while it runs (BpftraceOutputParser's onSnapshot). A script
 * without maps is returned as it is. Maps the scan misses (see above) are not in the snapshots.
 */
export function withMapSnapshots(script: string, seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError(`snapshot interval must be a whole number of seconds, got ${seconds}`);
  const names = [...scriptMaps(script).keys()];
  if (names.length === 0) return script;
  const prints = names.map((name) => `print(${name});`).join(' ');
  return `${script}\ninterval:s:${seconds} { print("${SNAPSHOT_BEGIN}"); ${prints} print("${SNAPSHOT_END}"); }\n`;
}
