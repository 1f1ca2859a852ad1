/**
 * JSON as bpftrace wrote it, for printing it back as text: objects keep their keys in bpftrace's
 * order (JSON.parse moves integer-like keys such as pids to the front, and bpftrace sorts a map by
 * value), and numbers keep their digits (a u64 above 2^53 would lose its last ones as a double).
 */
export type JsonNode =
  | { type: 'number'; raw: string }
  | { type: 'string'; value: string }
  | { type: 'literal'; value: boolean | null }
  | { type: 'array'; items: JsonNode[] }
  | { type: 'object'; entries: [string, JsonNode][] };

export class JsonSyntaxError extends Error {}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\r\n]*/y;

export function parseOrderedJson(text: string): JsonNode {
  let at = 0;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at offset ${at}`);
  };
  const skipWhitespace = (): void => {
    WHITESPACE.lastIndex = at;
    WHITESPACE.exec(text);
    at = WHITESPACE.lastIndex;
  };
  const expect = (char: string): void => {
    skipWhitespace();
    if (text[at] !== char) fail(`expected "${char}"`);
    at++;
  };
  const string = (): string => {
    let end = at + 1;
    while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
    if (end >= text.length) fail('unterminated string');
    // The escapes are JSON's own: JSON.parse reads them exactly.
    const value = JSON.parse(text.slice(at, end + 1)) as string;
    at = end + 1;
    return value;
  };
  const value = (): JsonNode => {
    skipWhitespace();
    const c = text[at];
    if (c === '"') return { type: 'string', value: string() };
    if (c === '[') {
      at++;
      const items: JsonNode[] = [];
      skipWhitespace();
      if (text[at] === ']') {
        at++;
        return { type: 'array', items };
      }
      for (;;) {
        items.push(value());
        skipWhitespace();
        if (text[at] === ']') {
          at++;
          return { type: 'array', items };
        }
        expect(',');
      }
    }
    if (c === '{') {
      at++;
      const entries: [string, JsonNode][] = [];
      skipWhitespace();
      if (text[at] === '}') {
        at++;
        return { type: 'object', entries };
      }
      for (;;) {
        skipWhitespace();
        if (text[at] !== '"') fail('expected a key');
        const key = string();
        expect(':');
        entries.push([key, value()]);
        skipWhitespace();
        if (text[at] === '}') {
          at++;
          return { type: 'object', entries };
        }
        expect(',');
      }
    }
    for (const [word, literal] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return { type: 'literal', value: literal };
      }
    }
    NUMBER.lastIndex = at;
    const number = NUMBER.exec(text);
    if (!number) return fail('expected a value');
    at = NUMBER.lastIndex;
    return { type: 'number', raw: number[0] };
  };
  const result = value();
  skipWhitespace();
  if (at !== text.length) fail('unexpected text after the value');
  return result;
}

/** The entry of an object node, if it has that key. */
export function member(node: JsonNode | undefined, key: string): JsonNode | undefined {
  return node?.type === 'object' ? node.entries.find(([k]) => k === key)?.[1] : undefined;
}

/** bpftrace's JSON joins the keys of a map with several with ",": split them, keeping a stack (newline-framed lines) whole. */
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

