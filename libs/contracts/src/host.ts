import { z } from 'zod';
import { CapabilityReport } from './capabilities';

export const HostId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'host id must be 1-128 of [A-Za-z0-9_.-]');

export const HostKind = z.enum(['daemon', 'ssh']);
export type HostKind = z.infer<typeof HostKind>;

export const HostInfo = z.object({
  id: HostId,
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  kernelRelease: z.string(),
  arch: z.string(),
  btf: z.boolean(),
  daemonVersion: z.string(),
  /** The cgroup-v2 subtree this daemon traces, when it is one of several "hosts" on a machine. */
  cgroup: z.string().nullable(),
  tools: z.object({ clang: z.boolean(), bpftrace: z.boolean() }),
  /**
   * What this host's kernel can do, probed at daemon start. Sent with the first heartbeat and then
   * only every CAPABILITIES_RESEND_MS: it is several KB, and the API keeps the last one it got.
   */
  capabilities: CapabilityReport.optional(),
  /** How the host is reached: its own daemon (the default), or an SSH gateway (apps/ssh-gateway). */
  kind: HostKind.optional(),
  /**
   * How many runs this host starts at once (a daemon's --concurrency, the SSH gateway's per-host
   * cap). The API releases no more runs into the host's queue than it has free slots, and holds the
   * rest `pending` until one ends: a run queued behind a full host would otherwise wait out its
   * start deadline there and end `missed`. Absent from hosts that predate it: no limit is applied.
   */
  runSlots: z.number().int().positive().optional(),
});
export type HostInfo = z.infer<typeof HostInfo>;

/** A host counts as online while its last heartbeat is younger than this. */
export const HOST_ONLINE_WINDOW_MS = 15_000;
export const HEARTBEAT_INTERVAL_MS = 3_000;
export const CAPABILITIES_RESEND_MS = 10 * 60_000;
