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
}

export interface ProgramCatalog {
  get(name: string): CatalogEntry | undefined;
  names(): string[];
}
