import { z } from 'zod';

/**
 * What the API's OpenAPI document needs to know of the schemas beside the schemas themselves. The
 * document is generated from the zod schemas that validate requests and type responses, so these
 * live next to them: a shape is named once, where it is defined.
 */

/** Which side of the API a named schema describes: what clients send, or what the API answers. */
export type ApiSide = 'request' | 'response';

const named = new Map<string, { schema: z.ZodType; side: ApiSide }>();

/**
 * Names a schema in the document (`#/components/schemas/<id>`): referenced, not repeated, wherever
 * it is used on its side. A request schema is described as clients send it, a response as sent.
 */
export function apiComponent<S extends z.ZodType>(id: string, schema: S, side: ApiSide = 'response'): S {
  const existing = named.get(id);
  if (existing && existing.schema !== schema) throw new Error(`two schemas are named ${id} in the API document`);
  named.set(id, { schema, side });
  return schema;
}

/** Every named schema of one side, by name. */
export function apiComponents(side: ApiSide): Map<string, z.ZodType> {
  return new Map([...named].filter(([, entry]) => entry.side === side).map(([id, entry]) => [id, entry.schema]));
}

// `unknown`, not z.ZodType: zod maps a registry's metadata type through every schema it holds, too deep for tsc.
const documentation = z.registry<{ schema: unknown }>();

/**
 * Request fields checked by hand-written code, for exact error messages (`z.custom` + refinements),
 * have no JSON Schema of their own: the document describes each with the schema given here, of the
 * shape the code accepts. Given the `z.custom()` itself, the refinements built on it (zod clones
 * with it as parent) are found too, as zod registries inherit entries from parents.
 */
export function documentAs(custom: z.ZodType, schema: z.ZodType): void {
  documentation.add(custom, { schema });
}

/** The schema that documents a hand-checked field, if it is one. */
export function documentationOf(custom: z.core.$ZodType): z.ZodType | undefined {
  return documentation.get(custom)?.schema as z.ZodType | undefined;
}
