import { z } from 'zod';
import { apiComponent } from './api-components';
import { StartTimings } from './run-deadline';

/** Attach types a host is probed for (by loading and attaching a tiny program of each kind). */
export const ATTACH_KINDS = [
  'tracepoint',
  'raw_tp',
  'tp_btf',
  'kprobe',
  'kretprobe',
  'fentry',
  'fexit',
  'lsm',
  'uprobe',
  'uretprobe',
  'usdt',
  'perf_event',
  'xdp',
  'tc',
] as const;
export const AttachKind = z.enum(ATTACH_KINDS);
export type AttachKind = z.infer<typeof AttachKind>;

export const AttachProbe = z.object({
  supported: z.boolean(),
  /** Why not (the error the kernel gave), when unsupported. */
  reason: z.string().optional(),
});
export type AttachProbe = z.infer<typeof AttachProbe>;

/** Whether this host can run a catalog program, as its daemon judged from the program's requirements. */
export const ProgramVerdict = z.object({
  supported: z.boolean(),
  /** Everything missing, phrased to follow "host <id> ": "has no tracepoint syscalls:sys_enter_open". */
  reason: z.string().optional(),
});
export type ProgramVerdict = z.infer<typeof ProgramVerdict>;

/** What a host's kernel can do with BPF, as the daemon reports it with its heartbeat. */
export const CapabilityReport = z.object({
  kernelRelease: z.string(),
  arch: z.string(),
  /** /sys/kernel/btf/vmlinux present: CO-RE objects load here. */
  btf: z.boolean(),
  /** libbpf's program type name → loadable; null where a type-level probe cannot tell. */
  programTypes: z.record(z.string(), z.boolean().nullable()),
  mapTypes: z.record(z.string(), z.boolean().nullable()),
  attachTypes: z.object(Object.fromEntries(ATTACH_KINDS.map((k) => [k, AttachProbe])) as Record<AttachKind, typeof AttachProbe>),
  /** program type → helper name (without "bpf_") → available; null where libbpf cannot tell. */
  helpers: z.record(z.string(), z.record(z.string(), z.boolean().nullable())),
  /** How events reach user space: BPF ring buffer where the kernel has it, else perf buffer. */
  eventTransport: z.enum(['ringbuf', 'perfbuf']),
  ringBuffer: z.boolean(),
  perfBuffer: z.boolean(),
  /** kernel.bpf_stats_enabled exists (per-program run time and count can be measured), and its value. */
  bpfStats: z.object({ available: z.boolean(), enabled: z.boolean() }),
  /**
   * Catalog program name → verdict, for the catalog the daemon ships with. Absent from daemons that
   * predate it; the API then judges from the rest of the report alone.
   */
  programs: z.record(z.string(), ProgramVerdict).optional(),
  probedAt: z.string(),
  probeDurationMs: z.number().nonnegative(),
  /**
   * What a run's start costs on this host, measured at the probe: the API scales the host's start
   * allowance by it (run-deadline.ts). Absent from hosts that predate it: they get the fixed allowance.
   */
  startTimings: StartTimings.optional(),
});
export type CapabilityReport = z.infer<typeof CapabilityReport>;
apiComponent('CapabilityReport', CapabilityReport);
