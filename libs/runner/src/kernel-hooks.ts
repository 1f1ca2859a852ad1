// The hooks this host's kernel offers: tracepoints tracefs lists, and raw tracepoints (tp_btf and
// raw_tp targets) its BTF declares as btf_trace_<name>. Only the names asked about are looked up.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { btfHasTypedefs } from '@fleettrace/bpf-loader';
import type { KernelFacts } from '@fleettrace/contracts';

export interface KernelHookPaths {
  /** Where tracefs may be mounted, in the order libbpf looks. */
  tracefsRoots: readonly string[];
  vmlinuxBtf: string;
}

const HOST_PATHS: KernelHookPaths = {
  tracefsRoots: ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'],
  vmlinuxBtf: '/sys/kernel/btf/vmlinux',
};

const TRACEPOINT_ID = /^([A-Za-z0-9_]+):([A-Za-z0-9_]+)$/;
const RAW_TRACEPOINT_PREFIX = 'btf_trace_';

/**
 * Lookups for KernelFacts. A tracepoint exists when tracefs has its events/<category>/<name>
 * directory (where libbpf reads its id; no tracefs, no tracepoint attach). A raw tracepoint exists
 * when vmlinux BTF has its btf_trace_ typedef; module BTF is not searched, as no catalog program
 * traces a module. libbpf looks each name up in C (btf__find_by_name_kind), so no type or name of
 * the kernel's BTF lives in the JS heap: `expectedRawTracepoints` are looked up together, in one
 * parse, at the first question; any other name costs a parse of its own.
 */
export function kernelHooks(
  paths: KernelHookPaths = HOST_PATHS,
  expectedRawTracepoints: readonly string[] = [],
): Required<Pick<KernelFacts, 'hasTracepoint' | 'hasRawTracepoint'>> {
  const events = paths.tracefsRoots.map((root) => join(root, 'events')).find((dir) => existsSync(dir));
  const rawTracepoints = new Map<string, boolean>();
  const lookUp = (names: readonly string[]): void => {
    const declared = btfHasTypedefs(paths.vmlinuxBtf, names.map((name) => RAW_TRACEPOINT_PREFIX + name));
    names.forEach((name, i) => rawTracepoints.set(name, declared[i]!));
  };
  return {
    hasTracepoint: (id) => {
      const match = TRACEPOINT_ID.exec(id);
      return events !== undefined && match !== null && existsSync(join(events, match[1]!, match[2]!));
    },
    hasRawTracepoint: (name) => {
      if (!existsSync(paths.vmlinuxBtf)) return undefined;
      if (!rawTracepoints.has(name)) lookUp([...new Set([name, ...expectedRawTracepoints.filter((n) => !rawTracepoints.has(n))])]);
      return rawTracepoints.get(name);
    },
  };
}
