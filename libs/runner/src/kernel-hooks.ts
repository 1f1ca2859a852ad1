// The hooks this host's kernel offers: tracepoints tracefs lists, and raw tracepoints (tp_btf and
// raw_tp targets) its BTF declares as btf_trace_<name>. Only the names asked about are looked up.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { btfTypedefNames } from '@fleettrace/bpf-loader';
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
 * traces a module. The BTF is read once (by libbpf, in C), on the first raw tracepoint asked about.
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

/** Names of the raw tracepoints vmlinux BTF declares; null without BTF. */
function readRawTracepoints(vmlinuxBtf: string): ReadonlySet<string> | null {
  return existsSync(vmlinuxBtf) ? new Set(btfTypedefNames(vmlinuxBtf, RAW_TRACEPOINT_PREFIX)) : null;
}
