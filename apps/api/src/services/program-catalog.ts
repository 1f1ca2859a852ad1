import type { KernelRequirements } from '@fleettrace/contracts';
import type { z } from 'zod';

/**
 * The part of the program catalog (libs/programs) the API relies on. An interface rather than direct
 * imports so services can be tested with a catalog of their own; production wires in the real one.
 */
export interface CatalogEntry {
  name: string;
  params: z.ZodType;
  /** What the program needs of a host's kernel; hosts that lack it get an `unsupported` run. */
  requires: KernelRequirements;
  /** For GET /v1/programs: what it does, its outputs and fallbacks. */
  summary?: string;
  outputs?: ReadonlyArray<CatalogOutput>;
  fallbacks?: ReadonlyArray<{ lacking: string; instead: string }>;
  /** Params naming a file on the host to attach to; held to binaryParamRefusal (libs/contracts program-policy). */
  binaryParams?: readonly string[];
}

/** A catalog output as the API describes it (libs/programs OutputSpec, the parts a client needs). */
export interface CatalogOutput {
  kind: 'hist' | 'counts' | 'events';
  name: string;
  unit?: string;
  keyFields?: string[];
  /** Counts keyed by stack ids leave the host as a stacks output. */
  stacks?: unknown;
  otel?: { instrument: string; name: string; unit?: string; attributes?: Readonly<Record<string, string>> };
}

export interface ProgramCatalog {
  get(name: string): CatalogEntry | undefined;
  names(): string[];
}
