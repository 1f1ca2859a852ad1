// What this kernel supports, asked of the kernel itself (libbpf loads a minimal program or
// creates a minimal map). Names are libbpf's: "tracepoint", "raw_tracepoint", "ringbuf", ...
import { native } from './binding';
import { NotSupportedError } from './errors';
import { requireString } from './validate';

// libbpf probes these with one particular attach type (fentry for "tracing"), so its answer does
// not cover the others: tp_btf loads where fentry is refused. Only loading the real program tells.
const ATTACH_DEPENDENT = new Set(['tracing', 'ext', 'lsm', 'struct_ops']);

/** true/false, or undefined when a type-level probe cannot answer for every attach type. */
export function supportsProgramType(type: string): boolean | undefined {
  requireString(type, 'program type');
  if (ATTACH_DEPENDENT.has(type)) return undefined;
  return native().probeProgramType(type) ?? undefined;
}

export function supportsMapType(type: string): boolean | undefined {
  return native().probeMapType(requireString(type, 'map type')) ?? undefined;
}

/** Throws NotSupportedError when the kernel says it has no such program type. */
export function requireProgramType(type: string): void {
  if (supportsProgramType(type) === false) throw new NotSupportedError(`BPF program type '${type}'`, 'the kernel refuses to load it');
}

export function requireMapType(type: string): void {
  if (supportsMapType(type) === false) throw new NotSupportedError(`BPF map type '${type}'`, 'the kernel refuses to create it');
}
