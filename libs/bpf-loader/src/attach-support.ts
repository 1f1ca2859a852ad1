// What an attach failure means: a kernel that lacks the feature (NotSupportedError naming it) or
// a real failure (the BpfError as it is). Also the cheap checks that tell before trying.
import { existsSync } from 'node:fs';
import { BpfError, errnoName, NotSupportedError, VerifierError } from './errors';

/** The attach kinds of LoadedObject's typed attach methods, as the capability report names them. */
export type AttachKind =
  | 'tracepoint'
  | 'raw_tp'
  | 'tp_btf'
  | 'kprobe'
  | 'kretprobe'
  | 'fentry'
  | 'fexit'
  | 'lsm'
  | 'uprobe'
  | 'uretprobe'
  | 'usdt'
  | 'perf_event'
  | 'xdp'
  | 'tc';

// errnos with which a kernel refuses a feature it lacks or forbids (lockdown, no BPF LSM, no
// trampoline support), as opposed to a bad request.
const REFUSALS = new Set([1 /* EPERM */, 95 /* EOPNOTSUPP */, 524 /* ENOTSUPP */]);

const KPROBE_SOURCES = [
  '/sys/bus/event_source/devices/kprobe/type',
  '/sys/kernel/tracing/kprobe_events',
  '/sys/kernel/debug/tracing/kprobe_events',
];

/** Whether kprobes can be created at all (kprobe PMU, or the legacy tracefs interface). */
export function kprobesAvailable(): boolean {
  return KPROBE_SOURCES.some((p) => existsSync(p));
}

export function requireKprobes(kind: 'kprobe' | 'kretprobe'): void {
  if (!kprobesAvailable()) {
    throw new NotSupportedError(kind, 'the kernel has no kprobe PMU and no tracefs kprobe_events (built without CONFIG_KPROBES?)');
  }
}

/** The error to throw for a failed attach of `kind`: NotSupportedError when the kernel refuses the feature. */
export function attachFailure(kind: AttachKind, err: unknown): unknown {
  if (err instanceof BpfError && !(err instanceof VerifierError) && REFUSALS.has(err.errno)) {
    const e = new NotSupportedError(kind, `the kernel refused to attach (${errnoName(err.errno)})`);
    e.cause = err;
    return e;
  }
  if (err instanceof BpfError && (kind === 'kprobe' || kind === 'kretprobe') && err.errno === 2 && !kprobesAvailable()) {
    const e = new NotSupportedError(kind, 'the kernel has no kprobe support');
    e.cause = err;
    return e;
  }
  return err;
}

// Section prefixes (SEC() strings) of programs whose load itself needs the attach feature: the
// kernel checks the attach target when loading, so that is where a lacking kernel says no.
const LOAD_TIME_KINDS: readonly [string, AttachKind][] = [
  ['fentry', 'fentry'],
  ['fexit', 'fexit'],
  ['fmod_ret', 'fentry'],
  ['lsm', 'lsm'],
  ['tp_btf', 'tp_btf'],
];

export function loadTimeKind(section: string): AttachKind | undefined {
  return LOAD_TIME_KINDS.find(([prefix]) => section === prefix || section.startsWith(`${prefix}/`) || section.startsWith(`${prefix}.s`))?.[1];
}

/**
 * A failed load whose failing program is of a kind the kernel refuses (fentry, LSM, ...) becomes
 * NotSupportedError naming that kind; anything else is returned as it is.
 */
export function loadFailure(err: unknown, sectionOf: (program: string) => string | undefined): unknown {
  if (!(err instanceof BpfError) || err instanceof VerifierError || !REFUSALS.has(err.errno)) return err;
  const program = /prog '([^']+)': (?:BPF program load failed|failed to load)/.exec(err.libbpfOutput)?.[1];
  const section = program === undefined ? undefined : sectionOf(program);
  const kind = section === undefined ? undefined : loadTimeKind(section);
  if (!kind) return err;
  const e = new NotSupportedError(kind, `the kernel refused to load program '${program}' (${errnoName(err.errno)})`);
  e.cause = err;
  return e;
}
