// The capability report the daemon sends, probed on this machine: every catalog program runs here
// (tracepoints, tp_btf, uprobes, perf_event and XDP work; kprobes, fentry and LSM do not, and no
// catalog program needs them), and a program naming a hook this kernel lacks is reported with it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapabilityReport, type KernelRequirements } from '@fleettrace/contracts';
import { bpfObjectsHeldBy } from '@fleettrace/bpf-loader/testing';
import { catalog } from '@fleettrace/programs';
import { kernelHooks, probeHostCapabilities } from '@fleettrace/runner';

const IMPOSSIBLE: Record<string, { requires: KernelRequirements }> = {
  test_missing_tracepoint: {
    requires: { attachTypes: ['tracepoint'], tracepoints: ['syscalls:sys_enter_getppid', 'fleettrace_test:no_such_event'] },
  },
  test_missing_raw_tracepoint: { requires: { attachTypes: ['tp_btf'], rawTracepoints: ['sched_switch', 'fleettrace_no_such_event'] } },
  test_future_kernel: { requires: { attachTypes: ['tracepoint'], minKernel: '99.1' } },
  test_kprobe: { requires: { attachTypes: ['kprobe'] } },
};

let report: CapabilityReport;
beforeAll(async () => {
  report = await probeHostCapabilities({ ...catalog, ...IMPOSSIBLE });
}, 30_000);

describe('the daemon capability report on this machine', () => {
  it('is a valid contracts CapabilityReport with a verdict on every catalog program', () => {
    expect(CapabilityReport.parse(report)).toEqual(report);
    expect(Object.keys(report.programs ?? {})).toEqual(expect.arrayContaining(Object.keys(catalog)));
  });

  it('marks every catalog program supported', () => {
    const unsupported = Object.keys(catalog).filter((name) => !report.programs?.[name]?.supported);
    expect(unsupported.map((name) => `${name}: ${report.programs?.[name]?.reason}`)).toEqual([]);
    expect(Object.keys(catalog)).toHaveLength(19);
  });

  it('reports a program naming a tracepoint this kernel lacks unsupported, naming that tracepoint alone', () => {
    expect(report.programs?.test_missing_tracepoint).toEqual({ supported: false, reason: 'has no tracepoint fleettrace_test:no_such_event' });
  });

  it('reports a missing raw tracepoint, a kernel too old and a refused attach type, each by name', () => {
    expect(report.programs?.test_missing_raw_tracepoint).toEqual({
      supported: false,
      reason: 'has no raw tracepoint fleettrace_no_such_event (no btf_trace_fleettrace_no_such_event in its BTF)',
    });
    expect(report.programs?.test_future_kernel).toEqual({ supported: false, reason: `has kernel ${report.kernelRelease} < 99.1 required` });
    expect(report.programs?.test_kprobe?.supported).toBe(false);
    expect(report.programs?.test_kprobe?.reason).toMatch(new RegExp(`^cannot attach kprobe \\(.+\\) on kernel ${report.kernelRelease.replace(/\./g, '\\.')}$`));
  });

  it('looks hooks up in this kernel: tracefs events and the btf_trace_ typedefs of its BTF', () => {
    const hooks = kernelHooks();
    expect(hooks.hasTracepoint('sched:sched_switch')).toBe(true);
    expect(hooks.hasTracepoint('sched:no_such_event')).toBe(false);
    expect(hooks.hasRawTracepoint('block_io_start')).toBe(true);
    expect(hooks.hasRawTracepoint('no_such_event')).toBe(false);
  });
});

afterAll(() => {
  // Probing loads and attaches a program of every kind; all of it is closed again.
  expect(bpfObjectsHeldBy('self')).toEqual({ progs: [], maps: [], links: [] });
});
