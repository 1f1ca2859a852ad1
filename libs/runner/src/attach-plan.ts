import { attachPlan, type Link, type LoadedObject } from '@fleettrace/bpf-loader';
import type { CatalogProgram } from '@fleettrace/programs';

/** Attaches a loaded catalog program as its manifest plans it, or every program by its SEC() when it has no plan. */
export function attachPlanned<P>(loaded: LoadedObject, program: CatalogProgram<P>, params: P): Link[] {
  return program.attach ? attachPlan(loaded, program.attach(params)) : loaded.attachAll();
}
