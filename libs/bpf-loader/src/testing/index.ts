// Test support for code that loads BPF objects: fixtures, gated generators, and bpftool checks
// that nothing is left in the kernel. Not part of the runtime entry point.
export { fixturePath, gatePath, probeTargetPath, refConsumerPath, stackChainPath } from './paths';
export { spawnGated, type GatedOptions, type GatedProcess } from './gated-process';
export { linksOfPrograms, programExists, programIdsByName, tracepointsAttachedBy } from './bpftool';
export { bpfObjectsHeldBy, type HeldBpfObjects } from './held-objects';
export { workloadPath } from './workload';
export { bpfStatsHolders, bpfStatsSysctl } from './bpf-stats';
