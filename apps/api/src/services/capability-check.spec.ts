import { describe, expect, it } from 'vitest';
import { ATTACH_KINDS, type CapabilityReport, type HostInfo } from '@fleettrace/contracts';
import { unsupportedReason } from './capability-check';

function report(unsupported: Record<string, string>): CapabilityReport {
  const attachTypes = Object.fromEntries(
    ATTACH_KINDS.map((kind) => [kind, kind in unsupported ? { supported: false, reason: unsupported[kind] } : { supported: true }]),
  ) as CapabilityReport['attachTypes'];
  return { kernelRelease: '6.18.0', attachTypes } as CapabilityReport;
}

const host = (overrides: Partial<HostInfo> = {}): Pick<HostInfo, 'id' | 'tools' | 'btf' | 'capabilities'> => ({
  id: 'h1',
  tools: { clang: true, bpftrace: true },
  btf: true,
  capabilities: report({ kprobe: 'kprobes are not built into this kernel', fentry: 'EPERM' }),
  ...overrides,
});
const needs = (attachTypes: string[], tools: Array<'clang' | 'bpftrace'> = [], btf = false) => ({ attachTypes, tools, btf });

describe('unsupportedReason', () => {
  it('names every required attach type the host refused, with the kernel and its reason', () => {
    expect(unsupportedReason(host(), needs(['kprobe', 'tracepoint', 'fentry']))).toBe(
      'host h1 cannot attach kprobe (kprobes are not built into this kernel), fentry (EPERM) on kernel 6.18.0',
    );
  });

  it('names missing tools and BTF', () => {
    expect(unsupportedReason(host({ tools: { clang: false, bpftrace: true }, btf: false }), needs([], ['clang'], true))).toBe(
      'host h1 has no clang; has no kernel BTF (/sys/kernel/btf/vmlinux)',
    );
  });

  it('passes hosts that have everything, hosts without a report, and requirements the probe does not cover', () => {
    expect(unsupportedReason(host(), needs(['tracepoint', 'tp_btf'], ['bpftrace'], true))).toBeUndefined();
    expect(unsupportedReason(host({ capabilities: undefined }), needs(['kprobe']))).toBeUndefined();
    expect(unsupportedReason(host(), needs(['iter']))).toBeUndefined();
  });
});
