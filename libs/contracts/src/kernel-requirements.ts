import type { AttachKind, AttachProbe } from './capabilities';
import { kernelAtLeast } from './kernel-release';

/**
 * What a program needs of a host's kernel, as a catalog manifest declares it. The daemon checks all
 * of it against its own kernel and reports a verdict per program; the API checks what a capability
 * report can answer (kernel version, attach and map types) when it plans a job.
 */
export interface KernelRequirements {
  /** Attach types the program's parts use; a host whose kernel refused one when probed cannot run it. */
  attachTypes: readonly AttachKind[];
  /** The oldest mainline kernel ("5.8") with everything the program uses: hooks, helpers, struct layouts. */
  minKernel?: string;
  /** The kernel's own BTF (/sys/kernel/btf/vmlinux), which CO-RE relocations and tp_btf programs need. */
  btf?: boolean;
  /** libbpf map type names of every map the object creates, data sections included ("array"). */
  mapTypes?: readonly string[];
  /** Tracepoints attached to, as "category:name", which tracefs must list under events/. */
  tracepoints?: readonly string[];
  /** tp_btf and raw_tp targets, which the kernel's BTF must declare as btf_trace_<name>. */
  rawTracepoints?: readonly string[];
}

/**
 * What is known of a host's kernel. Every part is optional: a requirement whose fact is unknown is
 * given the benefit of the doubt, as a daemon that can check it reports the truth anyway.
 */
export interface KernelFacts {
  btf?: boolean;
  kernelRelease?: string;
  attachTypes?: Readonly<Partial<Record<string, AttachProbe>>>;
  /** Map type → creatable; null where the probe could not tell. */
  mapTypes?: Readonly<Record<string, boolean | null>>;
  /** Whether tracefs lists "category:name"; only the host itself can look. */
  hasTracepoint?: (id: string) => boolean;
  /** Whether the kernel BTF declares btf_trace_<name>; undefined when there is no BTF to look in. */
  hasRawTracepoint?: (name: string) => boolean | undefined;
}

/**
 * Every requirement the host fails, one phrase each, to follow "host <id> ": which kernel, attach
 * type, map type or hook is missing. Empty when nothing known stands in the way.
 */
export function kernelRequirementProblems(needs: KernelRequirements, host: KernelFacts): string[] {
  const problems: string[] = [];
  if (needs.btf && host.btf === false) problems.push('has no kernel BTF (/sys/kernel/btf/vmlinux)');

  if (needs.minKernel && host.kernelRelease && kernelAtLeast(host.kernelRelease, needs.minKernel) === false) {
    problems.push(`has kernel ${host.kernelRelease} < ${needs.minKernel} required`);
  }

  const refused = needs.attachTypes.flatMap((kind) => {
    const probe = host.attachTypes?.[kind];
    return probe && !probe.supported ? [`${kind}${probe.reason ? ` (${probe.reason})` : ''}`] : [];
  });
  if (refused.length > 0) problems.push(`cannot attach ${refused.join(', ')}${host.kernelRelease ? ` on kernel ${host.kernelRelease}` : ''}`);

  const missingMaps = (needs.mapTypes ?? []).filter((type) => host.mapTypes?.[type] === false);
  if (missingMaps.length > 0) problems.push(`cannot create BPF map type ${missingMaps.join(', ')}`);

  const hasTracepoint = host.hasTracepoint;
  const missingTracepoints = hasTracepoint ? (needs.tracepoints ?? []).filter((id) => !hasTracepoint(id)) : [];
  if (missingTracepoints.length > 0) problems.push(`has no tracepoint ${missingTracepoints.join(', ')}`);

  const hasRaw = host.hasRawTracepoint;
  const missingRaw = hasRaw ? (needs.rawTracepoints ?? []).filter((name) => hasRaw(name) === false) : [];
  if (missingRaw.length > 0) {
    problems.push(`has no raw tracepoint ${missingRaw.join(', ')} (no btf_trace_${missingRaw.length === 1 ? missingRaw[0] : '<name>'} in its BTF)`);
  }
  return problems;
}
