import type { z } from 'zod';
import { UsageError } from '../errors';
import type { CatalogProgram } from './catalog';

type ParamKind = 'number' | 'boolean' | 'string' | 'enum' | 'other';

interface ParamShape {
  kind: ParamKind;
  required: boolean;
  choices?: string[];
}

interface ZodInternals {
  _zod: { def: { type: string; innerType?: unknown; in?: unknown; entries?: Record<string, string> } };
}

/** What a catalog parameter's zod schema takes, looking through optional(), default() and pipes. */
function describeParam(schema: unknown): ParamShape {
  let required = true;
  for (let node = schema as ZodInternals | undefined; node; ) {
    const def = node._zod.def;
    if (def.type === 'optional' || def.type === 'default') required = false;
    if (def.type === 'number' || def.type === 'boolean' || def.type === 'string') return { kind: def.type, required };
    if (def.type === 'enum') return { kind: 'enum', required, choices: Object.values(def.entries ?? {}) };
    node = (def.innerType ?? def.in) as ZodInternals | undefined;
  }
  return { kind: 'other', required };
}

function paramShapes(program: CatalogProgram): Map<string, ParamShape> {
  const shape = (program.params as unknown as { shape?: Record<string, unknown> }).shape ?? {};
  return new Map(Object.entries(shape).map(([name, schema]) => [name, describeParam(schema)]));
}

const TRUE = new Set(['true', 'yes', '1', 'on']);
const FALSE = new Set(['false', 'no', '0', 'off']);

/** One `--param` value typed as the parameter wants it; the schema then checks its range. */
function typedValue(name: string, raw: string | undefined, shape: ParamShape): unknown {
  if (shape.kind === 'boolean') {
    if (raw === undefined || TRUE.has(raw)) return true;
    if (FALSE.has(raw)) return false;
    throw new UsageError(`--param ${name}=${raw}: ${name} must be true or false`);
  }
  if (raw === undefined) throw new UsageError(`--param ${name} needs a value: --param ${name}=VALUE`);
  if (shape.kind === 'number') {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--param ${name}=${raw}: ${name} must be a number`);
    return value;
  }
  if (shape.kind === 'enum' && shape.choices && !shape.choices.includes(raw)) {
    throw new UsageError(`--param ${name}=${raw}: ${name} must be one of ${shape.choices.join(', ')}`);
  }
  if (shape.kind === 'other') return jsonOrText(raw);
  return raw;
}

/** A value whose type is not known here: JSON when it parses (42, true, [1,2]), else the text. */
function jsonOrText(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function splitPair(pair: string): [string, string | undefined] {
  const at = pair.indexOf('=');
  return at < 0 ? [pair, undefined] : [pair.slice(0, at), pair.slice(at + 1)];
}

/**
 * `--param k=v` pairs as the program's parameters, each typed by its schema (`pid=42` a number,
 * `failedOnly` alone true), then checked by the schema as the API and the runner will: a wrong
 * parameter is a usage error here rather than a failed job later. Without a catalog entry (a
 * program this CLI does not know, for a server that may), values are JSON or text.
 */
export function parseParams(programName: string, program: CatalogProgram | undefined, pairs: readonly string[]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  if (!program) {
    for (const pair of pairs) {
      const [name, raw] = splitPair(pair);
      params[name] = raw === undefined ? true : jsonOrText(raw);
    }
    return params;
  }
  const shapes = paramShapes(program);
  for (const pair of pairs) {
    const [name, raw] = splitPair(pair);
    const shape = shapes.get(name);
    if (!name || !shape) {
      const known = [...shapes.keys()];
      throw new UsageError(`--param ${name}: ${programName} has no parameter "${name}" (parameters: ${known.join(', ') || 'none'})`);
    }
    params[name] = typedValue(name, raw, shape);
  }
  const missing = [...shapes].filter(([name, shape]) => shape.required && !(name in params)).map(([name]) => name);
  if (missing.length > 0) throw new UsageError(`${programName} needs ${missing.map((name) => `--param ${name}=…`).join(' and ')}`);
  const checked = (program.params as z.ZodType).safeParse(params);
  if (!checked.success) throw new UsageError(`--param: ${checked.error.issues[0].message}`);
  return params;
}
