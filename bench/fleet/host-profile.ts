// Who the simulated hosts say they are: told apart by labels, kernel release and architecture, so
// selectors (`tier=web`, `kernel>=6.1`, `arch=arm64`) pick subsets of a simulated fleet as of a
// real one, and each with a capability report as large as a real daemon's (~5 KB), since the API
// reads every host's report when it plans a job.
import { ATTACH_KINDS, type AttachKind, type AttachProbe, type CapabilityReport, type HostInfo } from '@fleettrace/contracts';
import { catalog } from '@fleettrace/programs';
import { DAEMON_VERSION } from '../../apps/node-daemon/src/host-info';
import { programVerdicts } from '@fleettrace/runner';

const KERNELS = ['5.15.0-91-generic', '6.1.0-13-amd64', '6.8.0-45-generic', '6.12.9-200.fc41.x86_64'];
const TIERS = ['web', 'db', 'cache'];
const ZONES = ['a', 'b', 'c', 'd'];

// What libbpf 1.x names and probes, as a real report lists them (values: a recent x86 kernel's).
const PROGRAM_TYPES = [
  'socket_filter', 'kprobe', 'sched_cls', 'sched_act', 'tracepoint', 'xdp', 'perf_event', 'cgroup_skb', 'cgroup_sock',
  'lwt_in', 'lwt_out', 'lwt_xmit', 'sock_ops', 'sk_skb', 'cgroup_device', 'sk_msg', 'raw_tracepoint', 'cgroup_sock_addr',
  'lwt_seg6local', 'lirc_mode2', 'sk_reuseport', 'flow_dissector', 'cgroup_sysctl', 'raw_tracepoint_writable',
  'cgroup_sockopt', 'tracing', 'struct_ops', 'ext', 'lsm', 'sk_lookup', 'syscall',
];
const ATTACH_DEPENDENT = new Set(['tracing', 'struct_ops', 'ext', 'lsm']);
const MAP_TYPES = [
  'hash', 'array', 'prog_array', 'perf_event_array', 'percpu_hash', 'percpu_array', 'stack_trace', 'cgroup_array',
  'lru_hash', 'lru_percpu_hash', 'lpm_trie', 'array_of_maps', 'hash_of_maps', 'devmap', 'sockmap', 'cpumap', 'xskmap',
  'sockhash', 'cgroup_storage', 'reuseport_sockarray', 'percpu_cgroup_storage', 'queue', 'stack', 'sk_storage',
  'devmap_hash', 'struct_ops', 'ringbuf', 'inode_storage', 'task_storage', 'bloom_filter', 'user_ringbuf', 'cgrp_storage',
];
const HELPER_PROGRAM_TYPES = ['tracepoint', 'raw_tracepoint', 'kprobe', 'perf_event', 'xdp', 'sched_cls'];
const HELPERS = [
  'map_lookup_elem', 'map_update_elem', 'ktime_get_ns', 'get_current_pid_tgid', 'get_current_comm', 'get_current_cgroup_id',
  'get_stackid', 'perf_event_output', 'probe_read_kernel', 'probe_read_user', 'probe_read_user_str', 'ringbuf_output',
  'ringbuf_reserve', 'ringbuf_submit',
];

export function simulatedHostId(fleet: string, index: number): string {
  return `sim-${fleet}-${String(index + 1).padStart(4, '0')}`;
}

/** Host `index` of simulated fleet `fleet`: its labels, kernel and arch cycle, so every selector value has hosts. */
export function simulatedHost(fleet: string, index: number, now: Date = new Date()): HostInfo {
  const arch = index % 5 === 4 ? 'arm64' : 'x64';
  const kernelRelease = KERNELS[index % KERNELS.length]!;
  return {
    id: simulatedHostId(fleet, index),
    name: simulatedHostId(fleet, index),
    labels: { fleet, tier: TIERS[index % TIERS.length]!, zone: ZONES[index % ZONES.length]!, simulated: 'true' },
    kernelRelease,
    arch,
    btf: true,
    daemonVersion: DAEMON_VERSION,
    cgroup: null,
    tools: { clang: true, bpftrace: index % 2 === 0 },
    capabilities: capabilityReport(kernelRelease, arch, now),
  };
}

/** A full report of a host whose kernel allows everything probed; catalog verdicts by the daemon's own rule. */
export function capabilityReport(kernelRelease: string, arch: string, now: Date): CapabilityReport {
  const attachTypes = Object.fromEntries(ATTACH_KINDS.map((kind): [AttachKind, AttachProbe] => [kind, { supported: true }])) as Record<AttachKind, AttachProbe>;
  const mapTypes = Object.fromEntries(MAP_TYPES.map((type) => [type, true]));
  const report: CapabilityReport = {
    kernelRelease,
    arch,
    btf: true,
    programTypes: Object.fromEntries(PROGRAM_TYPES.map((type) => [type, ATTACH_DEPENDENT.has(type) ? null : true])),
    mapTypes,
    attachTypes,
    helpers: Object.fromEntries(HELPER_PROGRAM_TYPES.map((type) => [type, Object.fromEntries(HELPERS.map((h) => [h, true]))])),
    eventTransport: 'ringbuf',
    ringBuffer: true,
    perfBuffer: true,
    bpfStats: { available: true, enabled: false },
    probedAt: now.toISOString(),
    probeDurationMs: 300,
  };
  return { ...report, programs: programVerdicts(catalog, { btf: true, kernelRelease, attachTypes, mapTypes }) };
}
