// Attaches a manifest's program in a test the way the daemon's runner does (runner/attach-plan.ts).
import { attachPlan, type Link, type LoadedObject } from '@fleettrace/bpf-loader';
import type { CatalogProgram } from '../../src/manifest';

export function attachAsPlanned(obj: LoadedObject, program: CatalogProgram, params: unknown): Link[] {
  return program.attach ? attachPlan(obj, program.attach(program.params.parse(params))) : obj.attachAll();
}
