import fc from 'fast-check';
import { z } from 'zod';
import { programNames } from '@fleettrace/programs';

/**
 * Requests for the fuzz suite, generated from the zod schemas the API validates with: each schema
 * becomes JSON Schema (z.toJSONSchema) and that becomes a fast-check arbitrary that mostly keeps to
 * it and now and then breaks it (a wrong type, a value out of range, an unknown field, a hostile
 * string), so both the accepted and the refused paths are walked. Fields zod checks with custom code
 * (program, targets) get arbitraries of their own.
 */

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  anyOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
};

/** Strings that have broken parsers, databases and terminals: lone surrogates, NUL, control bytes, huge ones. */
export const hostileString = fc.oneof(
  fc.constantFrom('\ud800x', 'a\udfffb', '\u0000', 'x\u0000y', '\u001b[31m', '%00', "'; DROP TABLE jobs; --", '../../etc/shadow', '${env.HOME}', '🙂'.repeat(40), ''),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.nat({ max: 300_000 }).map((n) => 'x'.repeat(n)),
);

export const hostileNumber = fc.oneof(
  fc.constantFrom(-1, 0, -0, 1.5, 2 ** 31, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e308, -1e308, 1e-320),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** Any JSON value, shallow: for "wrong type" mutations. */
export const anyJson = fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }));

/** An arbitrary for a JSON Schema: valid most of the time, and one mutation away from valid otherwise. */
export function fromJsonSchema(schema: JsonSchema, overrides: Record<string, fc.Arbitrary<unknown>> = {}, path = ''): fc.Arbitrary<unknown> {
  if (overrides[path]) return overrides[path]!;
  const valid = validFrom(schema, overrides, path);
  return fc.oneof({ arbitrary: valid, weight: 8 }, { arbitrary: anyJson, weight: 1 });
}

function validFrom(schema: JsonSchema, overrides: Record<string, fc.Arbitrary<unknown>>, path: string): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s) => validFrom(s, overrides, path)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'integer': {
      const min = schema.minimum ?? -1000;
      const max = Math.min(schema.maximum ?? 1_000_000, Number.MAX_SAFE_INTEGER);
      return fc.oneof(fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31) }), fc.constantFrom(min, max, min - 1, max + 1));
    }
    case 'number':
      return fc.oneof(fc.double({ min: schema.exclusiveMinimum ?? schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true }), hostileNumber);
    case 'boolean':
      return fc.boolean();
    case 'string':
      return fc.oneof(fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 32, 64) }), hostileString);
    case 'array':
      return fc.array(schema.items ? fromJsonSchema(schema.items, overrides, `${path}[]`) : anyJson, { maxLength: 5 });
    case 'object': {
      const properties = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const fields = Object.fromEntries(Object.entries(properties).map(([key, sub]) => [key, fromJsonSchema(sub, overrides, path ? `${path}.${key}` : key)]));
      const record = fc.record(fields, { requiredKeys: Object.keys(fields).filter((k) => required.has(k)) });
      // Now and then a field nobody declared, or a required one missing.
      return fc.tuple(record, fc.option(fc.tuple(fc.string({ maxLength: 8 }), anyJson), { freq: 8 }), fc.option(fc.constantFrom(...(required.size ? [...required] : [''])), { freq: 10 })).map(([value, extra, drop]) => {
        const out = { ...(value as Record<string, unknown>) };
        if (extra) out[extra[0]] = extra[1];
        if (drop) delete out[drop];
        return out;
      });
    }
    default:
      return anyJson;
  }
}

export function arbitraryFor(schema: z.ZodType, overrides: Record<string, fc.Arbitrary<unknown>> = {}): fc.Arbitrary<unknown> {
  return fromJsonSchema(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema, overrides);
}

const label = fc.constantFrom('tier', 'zone', 'canary', 'env', 'label:kernel', 'app.kubernetes.io/name');
const value = fc.constantFrom('web', 'db', 'a', 'b', 'prod', '');
const term = fc.oneof(
  fc.tuple(label, fc.constantFrom('=', '==', '!='), value).map(([k, op, v]) => `${k}${op}${v}`),
  fc.tuple(label, fc.constantFrom(' in ', ' notin '), fc.array(value, { minLength: 1, maxLength: 3 })).map(([k, op, vs]) => `${k}${op}(${vs.join(',')})`),
  label,
  label.map((k) => `!${k}`),
  fc.tuple(fc.constantFrom('>=', '<', '=', '!=', '>'), fc.constantFrom('6.1', '5.4', '6.18.0', 'six')).map(([op, v]) => `kernel${op}${v}`),
  fc.constantFrom('arch=x86_64', 'arch in (arm64)', 'host=fz-1', 'host in (fz-1,fz-2)'),
  hostileString,
);

/** Selectors from the grammar's own terms, joined, sometimes with a broken one among them. */
export const selectorText = fc.array(term, { minLength: 1, maxLength: 4 }).map((terms) => terms.join(','));

export const programField = fc.oneof(
  fc.constantFrom(...programNames()),
  hostileString,
  fc.record({ kind: fc.constant('bpftrace'), script: fc.oneof(fc.constant('tracepoint:syscalls:sys_enter_getppid { @ = count(); }'), hostileString) }),
  fc.record({ kind: fc.constant('c'), source: hostileString, outputs: fc.array(fc.record({ kind: fc.constantFrom('hist', 'counts', 'events', 'nope'), map: fc.string({ maxLength: 8 }), unit: fc.string({ maxLength: 4 }) }), { maxLength: 2 }) }),
  anyJson,
);

export const targetsField = fc.oneof(
  fc.record({ selector: selectorText, sample: fc.oneof(fc.constantFrom('10%', '100%', '0%', '101%', 'x'), fc.integer({ min: -2, max: 5 })), seed: fc.string({ maxLength: 6 }), maxHosts: fc.integer({ min: -1, max: 5 }) }, { requiredKeys: [] }),
  fc.record({ hosts: fc.array(fc.constantFrom('fz-1', 'fz-2', 'ghost', ''), { maxLength: 3 }) }),
  fc.constantFrom({ all: true }, { labels: { tier: 'web' } }, { hostIds: ['fz-1'] }, { hostIds: [] }),
  anyJson,
);
