// The hooks this host's kernel offers: tracepoints tracefs lists, and raw tracepoints (tp_btf and
// raw_tp targets) its BTF declares as btf_trace_<name>. Only the names asked about are looked up.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Btf } from '@fleettrace/bpf-loader';
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
 * traces a module. The BTF is parsed once, on the first raw tracepoint asked about.
 */
export function kernelHooks(paths: KernelHookPaths = HOST_PATHS): Required<Pick<KernelFacts, 'hasTracepoint' | 'hasRawTracepoint'>> {
  const events = paths.tracefsRoots.map((root) => join(root, 'events')).find((dir) => existsSync(dir));
  let rawTracepoints: ReadonlySet<string> | null | undefined;
  return {
    hasTracepoint: (id) => {
      const match = TRACEPOINT_ID.exec(id);
      return events !== undefined && match !== null && existsSync(join(events, match[1]!, match[2]!));
    },
    hasRawTracepoint: (name) => {
      rawTracepoints ??= readRawTracepoints(paths.vmlinuxBtf);
      return rawTracepoints === null ? undefined : rawTracepoints.has(name);
    },
  };
}

/** Names of the raw tracepoints vmlinux BTF declares; null without BTF. Keeps the names, not the parsed BTF. */
function readRawTracepoints(vmlinuxBtf: string): ReadonlySet<string> | null {
  if (!existsSync(vmlinuxBtf)) return null;
  const names = new Set<string>();
  for (const type of Btf.parse(readFileSync(vmlinuxBtf)).types) {
    if (type.kind === 'typedef' && type.name.startsWith(RAW_TRACEPOINT_PREFIX)) names.add(type.name.slice(RAW_TRACEPOINT_PREFIX.length));
  }
  return names;
}
