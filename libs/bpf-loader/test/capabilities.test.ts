import { CapabilityReport } from '@fleettrace/contracts';
import { release } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { probeCapabilities } from '../src/index';
import { bpfObjectsHeldBy } from '../src/testing/index';

let report: CapabilityReport;
beforeAll(async () => {
  report = await probeCapabilities();
}, 30_000);

describe('capability report', () => {
  it('is a valid contracts CapabilityReport about this kernel', () => {
    expect(CapabilityReport.parse(report)).toEqual(report);
    expect(report.kernelRelease).toBe(release());
    expect(report.btf).toBe(true);
    expect(report.probeDurationMs).toBeLessThan(10_000);
  });

  it('reports the attach types this machine really has', () => {
    const supported = Object.entries(report.attachTypes).filter(([, v]) => v.supported).map(([k]) => k).sort();
    // This machine: tracepoints, BTF tracepoints, user-space probes, perf events and packet hooks work;
    // kprobes are not built in and the kernel refuses fentry/fexit/LSM programs.
    expect(supported).toEqual(['perf_event', 'raw_tp', 'tc', 'tp_btf', 'tracepoint', 'uprobe', 'uretprobe', 'usdt', 'xdp']);
    for (const kind of ['kprobe', 'kretprobe', 'fentry', 'fexit', 'lsm'] as const) {
      expect(report.attachTypes[kind].supported, kind).toBe(false);
      expect(report.attachTypes[kind].reason, kind).toBeTruthy();
    }
    expect(report.attachTypes.fentry.reason).toMatch(/EPERM/);
  });

  it('reports program types, map types and helpers', () => {
    for (const t of ['tracepoint', 'raw_tracepoint', 'perf_event', 'xdp', 'sched_cls', 'kprobe']) expect(report.programTypes[t], t).toBe(true);
    expect(report.programTypes.tracing).toBeNull(); // attach-dependent: see attachTypes
    for (const t of ['hash', 'array', 'percpu_array', 'ringbuf', 'perf_event_array', 'stack_trace']) expect(report.mapTypes[t], t).toBe(true);
    expect(report.helpers.tracepoint?.ringbuf_reserve).toBe(true);
    expect(report.helpers.perf_event?.get_stackid).toBe(true);
    // libbpf calls a helper available unless the verifier names it unknown for the program type.
    for (const type of ['tracepoint', 'kprobe', 'perf_event', 'xdp', 'sched_cls']) {
      expect(Object.values(report.helpers[type] ?? {}).every((v) => typeof v === 'boolean'), type).toBe(true);
    }
  });

  it('reports the event transport and bpf_stats', () => {
    expect(report.eventTransport).toBe('ringbuf');
    expect(report.ringBuffer && report.perfBuffer).toBe(true);
    expect(report.bpfStats.available).toBe(true);
  });

  it('leaves nothing behind', () => {
    expect(bpfObjectsHeldBy('self')).toEqual({ progs: [], maps: [], links: [] });
  });
});
