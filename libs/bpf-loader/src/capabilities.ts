// The host's capability report: what this kernel really lets us do with BPF. Attach types are
// tried, not guessed: each tiny program of bpf/capabilities.bpf.c is loaded and attached to a real
// target, then closed. The daemon sends the report with its heartbeat.
import { CapabilityReport, ATTACH_KINDS, type AttachKind, type AttachProbe } from '@fleettrace/contracts';
import { existsSync, readFileSync } from 'node:fs';
import { arch, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { kprobesAvailable } from './attach-support';
import { native, nativeAddonPath } from './binding';
import { NotSupportedError } from './errors';
import type { LoadedObject } from './loaded-object';
import { type ObjectSpec, openObject } from './object-spec';

export type { CapabilityReport } from '@fleettrace/contracts';

const CAPABILITIES_OBJECT = fileURLToPath(new URL('../build/bpf/capabilities.bpf.o', import.meta.url));

// Helpers our programs use, probed for the program types we load.
const HELPERS = [
  'map_lookup_elem',
  'map_update_elem',
  'ktime_get_ns',
  'get_current_pid_tgid',
  'get_current_comm',
  'get_current_cgroup_id',
  'get_stackid',
  'perf_event_output',
  'probe_read_kernel',
  'probe_read_user',
  'probe_read_user_str',
  'ringbuf_output',
  'ringbuf_reserve',
  'ringbuf_submit',
] as const;
const HELPER_PROGRAM_TYPES = ['tracepoint', 'raw_tracepoint', 'kprobe', 'perf_event', 'xdp', 'sched_cls'] as const;

// Kernel functions fentry/kprobe probes attach to: bpf_fentry_test1 exists for exactly this kind
// of test (net/bpf/test_run.c); the others are fallbacks.
const KERNEL_TARGETS = ['bpf_fentry_test1', 'do_nanosleep', 'vfs_read'];

function kernelTarget(): string {
  let syms = '';
  try {
    syms = readFileSync('/proc/kallsyms', 'utf8');
  } catch {
    return KERNEL_TARGETS[0]!;
  }
  return KERNEL_TARGETS.find((fn) => new RegExp(` ${fn}$`, 'm').test(syms)) ?? KERNEL_TARGETS[0]!;
}

function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]!.slice(0, 300);
}

interface AttachProbeSpec {
  program: string;
  /** For fentry/fexit: the kernel function set as attach target before load. */
  target?: 'kernel';
  attach: (obj: LoadedObject, kernelFn: string) => void;
}

const SELF_PID = () => process.pid;

const ATTACH_PROBES: Record<AttachKind, AttachProbeSpec> = {
  tracepoint: { program: 'cap_tracepoint', attach: (o) => o.attachTracepoint('cap_tracepoint', 'syscalls', 'sys_enter_getppid') },
  raw_tp: { program: 'cap_raw_tp', attach: (o) => o.attachRawTracepoint('cap_raw_tp', 'sys_enter') },
  tp_btf: { program: 'cap_tp_btf', attach: (o) => o.attachTpBtf('cap_tp_btf') },
  kprobe: { program: 'cap_kprobe', attach: (o, fn) => o.attachKprobe('cap_kprobe', fn) },
  kretprobe: { program: 'cap_kretprobe', attach: (o, fn) => o.attachKretprobe('cap_kretprobe', fn) },
  fentry: { program: 'cap_fentry', target: 'kernel', attach: (o) => o.attachFentry('cap_fentry') },
  fexit: { program: 'cap_fexit', target: 'kernel', attach: (o) => o.attachFexit('cap_fexit') },
  lsm: { program: 'cap_lsm', attach: (o) => o.attachLsm('cap_lsm') },
  uprobe: {
    program: 'cap_uprobe',
    attach: (o) => o.attachUprobe('cap_uprobe', { binary: nativeAddonPath(), symbol: 'fleettrace_uprobe_target', pid: SELF_PID() }),
  },
  uretprobe: {
    program: 'cap_uretprobe',
    attach: (o) => o.attachUprobe('cap_uretprobe', { binary: nativeAddonPath(), symbol: 'fleettrace_uprobe_target', pid: SELF_PID(), retprobe: true }),
  },
  usdt: {
    program: 'cap_usdt',
    attach: (o) => o.attachUsdt('cap_usdt', { binary: nativeAddonPath(), provider: 'fleettrace', name: 'capability_probe', pid: SELF_PID() }),
  },
  perf_event: { program: 'cap_perf_event', attach: (o) => o.attachPerfEvent('cap_perf_event', { frequency: 1, cpus: [0] }) },
  xdp: { program: 'cap_xdp', attach: (o) => o.attachXdp('cap_xdp', { interface: 'lo' }) },
  tc: { program: 'cap_tc', attach: (o) => o.attachTc('cap_tc', { interface: 'lo', direction: 'ingress' }) },
};

async function probeAttach(spec: ObjectSpec, kind: AttachKind, kernelFn: string): Promise<AttachProbe> {
  const probe = ATTACH_PROBES[kind];
  if ((kind === 'kprobe' || kind === 'kretprobe') && !kprobesAvailable()) {
    return { supported: false, reason: 'no kprobe PMU and no tracefs kprobe_events' };
  }
  let obj: LoadedObject | undefined;
  try {
    if (probe.target === 'kernel') spec.setAttachTarget(probe.program, kernelFn);
    obj = spec.load({ programs: [probe.program] });
    probe.attach(obj, kernelFn);
    return { supported: true };
  } catch (err) {
    return { supported: false, reason: reasonOf(err) };
  } finally {
    await obj?.close().catch(() => undefined);
  }
}

function probeTypes(names: string[], probe: (name: string) => boolean | null): Record<string, boolean | null> {
  const out: Record<string, boolean | null> = {};
  for (const name of names) {
    if (name === 'unspec') continue;
    try {
      out[name] = probe(name);
    } catch {
      out[name] = null;
    }
  }
  return out;
}

function readSysctl(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Probes this host. Takes a few hundred milliseconds; leaves nothing in the kernel. */
export async function probeCapabilities(): Promise<CapabilityReport> {
  const started = performance.now();
  const n = native();
  if (!existsSync(CAPABILITIES_OBJECT)) {
    throw new NotSupportedError('capability probing', `${CAPABILITIES_OBJECT} is missing: run \`npm run build -w @fleettrace/bpf-loader\``);
  }
  // tracing/ext/lsm/struct_ops depend on the attach type: the attach probes answer for those.
  const attachDependent = new Set(['tracing', 'ext', 'lsm', 'struct_ops']);
  const programTypes = probeTypes(n.programTypeNames(), (t) => (attachDependent.has(t) ? null : n.probeProgramType(t)));
  const mapTypes = probeTypes(n.mapTypeNames(), (t) => n.probeMapType(t));

  const helpers: Record<string, Record<string, boolean | null>> = {};
  for (const type of HELPER_PROGRAM_TYPES) {
    if (programTypes[type] !== true) continue;
    helpers[type] = Object.fromEntries(HELPERS.map((h) => [h, n.probeHelper(type, h)]));
  }

  const spec = openObject(CAPABILITIES_OBJECT);
  const kernelFn = kernelTarget();
  const attachTypes = {} as Record<AttachKind, AttachProbe>;
  try {
    for (const kind of ATTACH_KINDS) attachTypes[kind] = await probeAttach(spec, kind, kernelFn);
  } finally {
    spec.close();
  }

  const ringBuffer = mapTypes.ringbuf === true;
  const perfBuffer = mapTypes.perf_event_array === true;
  const stats = readSysctl('/proc/sys/kernel/bpf_stats_enabled');
  return CapabilityReport.parse({
    kernelRelease: release(),
    arch: arch(),
    btf: existsSync('/sys/kernel/btf/vmlinux'),
    programTypes,
    mapTypes,
    attachTypes,
    helpers,
    eventTransport: ringBuffer ? 'ringbuf' : 'perfbuf',
    ringBuffer,
    perfBuffer,
    bpfStats: { available: stats !== undefined, enabled: stats === '1' },
    probedAt: new Date().toISOString(),
    probeDurationMs: Math.round(performance.now() - started),
  });
}
