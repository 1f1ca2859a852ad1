import { z } from 'zod';
import { apiComponent } from './api-components';
import { hasScope, type ApiScope } from './api-scopes';

/**
 * The program policy of custom C programs: which program kinds an object may contain and which BPF
 * helpers its code may call. The API resolves it from the job's token (resolveProgramPolicy), the
 * dispatch carries it whole, and the runner checks the compiled object against it before anything
 * reaches the kernel (checkProgramPolicy, over facts read from the object's instructions, never
 * from what the source declares). One module for both sides, so they cannot disagree.
 */

/** The kinds a program section can be, as libbpf's SEC() names classify them. */
export const PROGRAM_KINDS = ['kprobe', 'uprobe', 'tracepoint', 'raw_tp', 'tp_btf', 'fentry', 'perf_event', 'xdp', 'tc', 'lsm', 'struct_ops', 'fmod_ret'] as const;
export type ProgramKind = (typeof PROGRAM_KINDS)[number];

/** What any token that may run C may load: programs that observe, not ones that decide. */
export const TRACING_PROGRAM_KINDS: readonly ProgramKind[] = ['kprobe', 'uprobe', 'tracepoint', 'raw_tp', 'tp_btf', 'fentry', 'perf_event'];
/** Programs on the network path (they can drop or rewrite packets): only with `jobs:c:network`. */
export const NETWORK_PROGRAM_KINDS: readonly ProgramKind[] = ['xdp', 'tc'];
/** Programs that change what the kernel decides (access control, return values, kernel ops): only with `jobs:c:hooks`. */
export const HOOK_PROGRAM_KINDS: readonly ProgramKind[] = ['lsm', 'struct_ops', 'fmod_ret'];

/**
 * Helpers that change the system rather than observe it, with the ids the kernel gives them
 * (include/uapi/linux/bpf.h; a call instruction carries the id, not the name).
 */
export const DENIABLE_HELPERS = {
  bpf_probe_write_user: 36,
  bpf_override_return: 58,
  bpf_send_signal: 109,
  bpf_send_signal_thread: 117,
  bpf_sys_bpf: 166,
  bpf_set_retval: 187,
} as const;
export type DeniableHelper = keyof typeof DENIABLE_HELPERS;
const DENIABLE_HELPER_NAMES = Object.keys(DENIABLE_HELPERS) as [DeniableHelper, ...DeniableHelper[]];

export const ProgramPolicy = apiComponent(
  'ProgramPolicy',
  z
    .object({
      /** The program kinds the object may contain; any other section is refused. */
      programKinds: z.array(z.enum(PROGRAM_KINDS)),
      /** Helpers no instruction of the object may call. */
      deniedHelpers: z.array(z.enum(DENIABLE_HELPER_NAMES)),
    })
    .strict(),
);
export type ProgramPolicy = z.infer<typeof ProgramPolicy>;

/** The policy a token holding `scopes` gets. Every denied helper stays denied: no scope lifts it. */
export function resolveProgramPolicy(scopes: readonly ApiScope[]): ProgramPolicy {
  return {
    programKinds: [
      ...TRACING_PROGRAM_KINDS,
      ...(hasScope(scopes, 'jobs:c:network') ? NETWORK_PROGRAM_KINDS : []),
      ...(hasScope(scopes, 'jobs:c:hooks') ? HOOK_PROGRAM_KINDS : []),
    ],
    deniedHelpers: [...DENIABLE_HELPER_NAMES],
  };
}

/** The strictest policy: what a runner applies when its start carries none (a local run, an older API). */
export const DEFAULT_PROGRAM_POLICY: ProgramPolicy = resolveProgramPolicy([]);

/** libbpf's SEC() prefixes (the part before the first '/'), by kind. Anything else is no allowed kind. */
const SECTION_KINDS: Readonly<Record<string, ProgramKind>> = {
  kprobe: 'kprobe',
  kretprobe: 'kprobe',
  'kprobe.multi': 'kprobe',
  'kretprobe.multi': 'kprobe',
  'kprobe.session': 'kprobe',
  ksyscall: 'kprobe',
  kretsyscall: 'kprobe',
  uprobe: 'uprobe',
  uretprobe: 'uprobe',
  'uprobe.s': 'uprobe',
  'uretprobe.s': 'uprobe',
  'uprobe.multi': 'uprobe',
  'uretprobe.multi': 'uprobe',
  'uprobe.multi.s': 'uprobe',
  'uretprobe.multi.s': 'uprobe',
  usdt: 'uprobe',
  tracepoint: 'tracepoint',
  tp: 'tracepoint',
  raw_tracepoint: 'raw_tp',
  raw_tp: 'raw_tp',
  'raw_tracepoint.w': 'raw_tp',
  'raw_tp.w': 'raw_tp',
  tp_btf: 'tp_btf',
  fentry: 'fentry',
  fexit: 'fentry',
  'fentry.s': 'fentry',
  'fexit.s': 'fentry',
  perf_event: 'perf_event',
  xdp: 'xdp',
  'xdp.frags': 'xdp',
  tc: 'tc',
  tcx: 'tc',
  classifier: 'tc',
  action: 'tc',
  netkit: 'tc',
  lsm: 'lsm',
  'lsm.s': 'lsm',
  lsm_cgroup: 'lsm',
  struct_ops: 'struct_ops',
  'struct_ops.s': 'struct_ops',
  fmod_ret: 'fmod_ret',
  'fmod_ret.s': 'fmod_ret',
};

/** The kind of a program in section `section` (its SEC() string); undefined for sections no kind covers (iter, syscall, socket, cgroup, ...). */
export function programKindOf(section: string): ProgramKind | undefined {
  return SECTION_KINDS[section.split('/')[0]!];
}

/** What the runner read from a compiled object, before loading it. */
export interface ProgramObjectFacts {
  /** Each program: its function name, SEC() string and libbpf's type name for it. */
  programs: readonly { name: string; section: string; type: string }[];
  /** Helper ids called by the object's code (every executable section, subprograms too), each with where. */
  helperCalls: readonly { helperId: number; section: string }[];
  /** Maps declared with `pinning`, which would outlive the run in bpffs and be shared with whoever opens them. */
  pinnedMaps: readonly string[];
  /** Sections libbpf would read as legacy map definitions (`SEC("maps")`): their pinning cannot be checked. */
  legacyMapSections: readonly string[];
}

const SCOPE_OF_KIND: Partial<Record<ProgramKind, ApiScope>> = {
  xdp: 'jobs:c:network',
  tc: 'jobs:c:network',
  lsm: 'jobs:c:hooks',
  struct_ops: 'jobs:c:hooks',
  fmod_ret: 'jobs:c:hooks',
};

/** The first thing in the object the policy refuses, as the run's error; undefined when it may load. */
export function checkProgramPolicy(facts: ProgramObjectFacts, policy: ProgramPolicy): string | undefined {
  for (const program of facts.programs) {
    const kind = programKindOf(program.section);
    if (kind === undefined) {
      return `program ${program.name} (section ${program.section}, type ${program.type}) is of no kind the policy allows (allowed: ${policy.programKinds.join(', ')})`;
    }
    if (!policy.programKinds.includes(kind)) {
      const scope = SCOPE_OF_KIND[kind];
      return `program ${program.name} (section ${program.section}) is of kind ${kind}, which the policy denies${scope ? ` without the scope ${scope}` : ''}`;
    }
  }
  const denied = new Map(policy.deniedHelpers.map((name) => [DENIABLE_HELPERS[name] as number, name]));
  for (const call of facts.helperCalls) {
    const name = denied.get(call.helperId);
    if (name) return `program uses helper ${name}, which the policy denies`;
  }
  if (facts.legacyMapSections.length > 0) return `section ${facts.legacyMapSections[0]} holds legacy map definitions, which the policy denies: declare maps in SEC(".maps")`;
  if (facts.pinnedMaps.length > 0) return `map ${facts.pinnedMaps[0]} is declared with pinning, which the policy denies`;
  return undefined;
}

/**
 * Where the file a catalog program's `binary` parameter names (a uprobe or USDT target) may be on
 * a host: the API refuses any other path with a 400 (configurable there as
 * FLEETTRACE_BINARY_PREFIXES). The host opens whatever passes only if it is a regular ELF
 * executable or shared library (libs/bpf-loader uprobe/binary-file.ts), so this list is the second
 * fence: it keeps a job from pointing the root daemon at files users can write (/tmp, /home).
 * Paths inside a process's mount namespace (/proc/<pid>/root/…) are judged by the part after
 * `root`. A name without '/' ("libc.so.6", "bash") is looked up by the host in the dynamic
 * linker's cache and PATH, which hold system directories.
 */
export const DEFAULT_BINARY_PREFIXES: readonly string[] = ['/usr', '/bin', '/sbin', '/lib', '/lib64', '/opt'];

const BINARY_NAME = /^[A-Za-z0-9_][A-Za-z0-9._+-]*$/;
const VIA_PROCESS_ROOT = /^\/proc\/[1-9][0-9]*\/root(\/.*)$/;

/** Why `value` may not be a job's binary parameter (the rest of "<param> …"), or undefined when it may. */
export function binaryParamRefusal(value: string, prefixes: readonly string[] = DEFAULT_BINARY_PREFIXES): string | undefined {
  if (!value.includes('/')) {
    return BINARY_NAME.test(value) ? undefined : 'must be an absolute path, or a library or program name of letters, digits, ".", "_", "+" and "-"';
  }
  if (!value.startsWith('/')) return 'must be an absolute path (or a library or program name without "/")';
  if (value.split('/').slice(1).some((part) => part === '' || part === '.' || part === '..')) {
    return 'must be a normalized absolute path (no "//", "." or ".." parts)';
  }
  const inside = VIA_PROCESS_ROOT.exec(value)?.[1] ?? value;
  const allowed = prefixes.some((prefix) => {
    const dir = prefix.endsWith('/') ? prefix : `${prefix}/`;
    return inside.startsWith(dir);
  });
  return allowed ? undefined : `must be under ${prefixes.join(', ')} (or the same under /proc/<pid>/root)`;
}

/** FLEETTRACE_BINARY_PREFIXES: colon-separated absolute directories; throws naming the variable. */
export function parseBinaryPrefixes(text: string): readonly string[] {
  const prefixes = text.split(':').filter(Boolean);
  if (prefixes.length === 0) throw new Error('FLEETTRACE_BINARY_PREFIXES must name at least one directory');
  for (const prefix of prefixes) {
    if (!prefix.startsWith('/') || prefix === '/' || prefix.split('/').slice(1).some((p, i, all) => p === '.' || p === '..' || (p === '' && i < all.length - 1))) {
      throw new Error(`FLEETTRACE_BINARY_PREFIXES: "${prefix}" must be an absolute, normalized directory other than /`);
    }
  }
  return prefixes;
}
