/**
 * How a loaded program is attached when its SEC() name alone cannot say where: a catalog manifest
 * plans the steps from the job's parameters, the loader carries them out.
 */
export type AttachStep =
  /** By the program's SEC() definition, as attachAll() does. */
  | { program: string; kind: 'auto' }
  /** CPU-clock sampling at `frequency` Hz on every online CPU. */
  | { program: string; kind: 'perf_event'; frequency: number }
  | { program: string; kind: 'uprobe'; binary: string; symbol: string; retprobe?: boolean; pid?: number }
  | { program: string; kind: 'xdp'; interface: string };
