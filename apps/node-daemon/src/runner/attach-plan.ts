import type { Link, LoadedObject } from '@fleettrace/bpf-loader';
import type { AttachStep, CatalogProgram } from '@fleettrace/programs';

/**
 * Attaches a loaded catalog program as its manifest plans it, or every program by its SEC() when
 * it has no plan. All-or-nothing: if a step fails, the links this call made are closed.
 */
export function attachPlanned<P>(loaded: LoadedObject, program: CatalogProgram<P>, params: P): Link[] {
  if (!program.attach) return loaded.attachAll();
  const links: Link[] = [];
  try {
    for (const step of program.attach(params)) links.push(attachStep(loaded, step));
  } catch (error) {
    for (const link of links) link.close();
    throw error;
  }
  return links;
}

function attachStep(loaded: LoadedObject, step: AttachStep): Link {
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
