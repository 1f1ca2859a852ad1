import { z } from 'zod';

const FIELD = /^[A-Za-z_][A-Za-z0-9_.]{0,63}$/;

/**
 * How the OpenAPI document lists a prefixed query: its fixed parameters, then the prefixed ones as
 * one free-form parameter (OpenAPI's form-exploded object: each property is a `name=value` pair).
 */
export interface PrefixedQueryDoc {
  fixed: z.ZodObject;
  prefixed: { name: string; schema: z.ZodType; description: string };
}

const docs = new WeakMap<z.ZodType, PrefixedQueryDoc>();

/**
 * Query parameters with a prefix (`key.comm=nginx`, `field.pid=42`) beside fixed ones: the prefixed
 * ones are collected into one object, any other unknown parameter is an error naming it. `shape`
 * turns the result into what the service takes; `description` says what a prefixed one asks for.
 */
export function withPrefixed<S extends z.ZodRawShape, R>(
  fixed: S,
  prefix: string,
  description: string,
  shape: (query: z.infer<z.ZodObject<S>>, prefixed: Record<string, string>) => R,
) {
  const fixedObject = z.object(fixed);
  const schema = z
    .record(z.string(), z.unknown(), { error: 'query must be an object' })
    .transform((query, ctx) => {
      const known: Record<string, unknown> = {};
      const prefixed: Record<string, string> = {};
      for (const [name, value] of Object.entries(query)) {
        if (name.startsWith(`${prefix}.`)) {
          const field = name.slice(prefix.length + 1);
          if (!FIELD.test(field) || typeof value !== 'string') {
            ctx.addIssue({ code: 'custom', message: `${name} must be ${prefix}.<field>=<value>, once` });
            return z.NEVER;
          }
          prefixed[field] = value;
        } else if (name in fixed) known[name] = value;
        else {
          ctx.addIssue({ code: 'custom', message: `unknown query parameter "${name}"` });
          return z.NEVER;
        }
      }
      const parsed = fixedObject.safeParse(known);
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: parsed.error.issues[0]!.message });
        return z.NEVER;
      }
      return shape(parsed.data as z.infer<z.ZodObject<S>>, prefixed);
    });
  const names = z.string().regex(new RegExp(`^${prefix}\\.${FIELD.source.slice(1)}`));
  docs.set(schema, { fixed: fixedObject, prefixed: { name: `${prefix}.<field>`, schema: z.record(names, z.string()), description } });
  return schema;
}

export function prefixedQueryDoc(schema: z.ZodType): PrefixedQueryDoc | undefined {
  return docs.get(schema);
}
