// Carries out a manifest's attach plan in a test, as the daemon's runner does (runner/attach-plan.ts):
// this package may not depend on the daemon, and its tests must attach the way a run does.
import type { Link, LoadedObject } from '@fleettrace/bpf-loader';
import type { AttachStep, CatalogProgram } from '../../src/manifest';

export function attachAsPlanned(obj: LoadedObject, program: CatalogProgram, params: unknown): Link[] {
  if (!program.attach) return obj.attachAll();
  return program.attach(program.params.parse(params)).map((step: AttachStep) => {
    switch (step.kind) {
      case 'auto':
        return obj.attach(step.program);
      case 'perf_event':
        return obj.attachPerfEvent(step.program, { frequency: step.frequency, cpus: 'all' });
      case 'uprobe':
        return obj.attachUprobe(step.program, { binary: step.binary, symbol: step.symbol, pid: step.pid, retprobe: step.retprobe });
      case 'xdp':
        return obj.attachXdp(step.program, { interface: step.interface });
    }
  });
}
