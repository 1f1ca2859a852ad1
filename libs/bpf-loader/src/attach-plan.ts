import type { AttachStep } from '@fleettrace/contracts';
import type { Link } from './link';
import type { LoadedObject } from './loaded-object';

/** The part of a loaded object an attach plan drives: one typed call per step kind. */
export type PlanTarget = Pick<LoadedObject, 'attach' | 'attachPerfEvent' | 'attachUprobe' | 'attachXdp'>;

/**
 * Carries out an attach plan, all or nothing: if a step fails, the links made by earlier steps are
 * closed before the error is rethrown, so a half-attached program never keeps running.
 */
export function attachPlan(loaded: PlanTarget, steps: readonly AttachStep[]): Link[] {
  const links: Link[] = [];
  try {
    for (const step of steps) links.push(attachStep(loaded, step));
  } catch (error) {
    for (const link of links) link.close();
    throw error;
  }
  return links;
}

function attachStep(loaded: PlanTarget, step: AttachStep): Link {
  switch (step.kind) {
    case 'auto':
      return loaded.attach(step.program);
    case 'perf_event':
      return loaded.attachPerfEvent(step.program, { frequency: step.frequency, cpus: 'all' });
    case 'uprobe':
      return loaded.attachUprobe(step.program, { binary: step.binary, symbol: step.symbol, pid: step.pid, retprobe: step.retprobe });
    case 'xdp':
      return loaded.attachXdp(step.program, { interface: step.interface });
  }
}
