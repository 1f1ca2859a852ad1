import { describe, expect, it } from 'vitest';
import { ATTACH_KINDS, type AttachKind, type CapabilityReport, type HostInfo, type KernelRequirements } from '@fleettrace/contracts';
import { unsupportedReason, type ProgramRequirements } from './capability-check';

function report(unsupported: Record<string, string>, overrides: Partial<CapabilityReport> = {}): CapabilityReport {
  const attachTypes = Object.fromEntries(
    ATTACH_KINDS.map((kind) => [kind, kind in unsupported ? { supported: false, reason: unsupported[kind] } : { supported: true }]),
  ) as CapabilityReport['attachTypes'];
  return { kernelRelease: '6.18.0', btf: true, attachTypes, mapTypes: { hash: true, ringbuf: true, array: true }, ...overrides } as CapabilityReport;
}

const host = (overrides: Partial<HostInfo> = {}): Pick<HostInfo, 'id' | 'tools' | 'btf' | 'capabilities'> => ({
  id: 'h1',
  tools: { clang: true, bpftrace: true },
  btf: true,
  capabilities: report({ kprobe: 'kprobes are not built into this kernel', fentry: 'EPERM' }),
  ...overrides,
});
const needs = (attachTypes: string[], tools: Array<'clang' | 'bpftrace'> = [], btf = false): ProgramRequirements => ({
  kernel: { attachTypes: attachTypes as AttachKind[], btf },
  tools,
});
const catalogNeeds = (kernel: Partial<KernelRequirements>, catalogName = 'execsnoop'): ProgramRequirements => ({
  catalogName,
  kernel: { attachTypes: ['tracepoint'], ...kernel },
  tools: [],
});

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
    expect(unsupportedReason(host(), catalogNeeds({ minKernel: '5.8', mapTypes: ['ringbuf', 'bloom_filter'], tracepoints: ['no:such'] }))).toBeUndefined();
  });

  it('names a kernel older than the program needs, with both versions', () => {
    const old = host({ capabilities: report({}, { kernelRelease: '6.1.0-13-amd64' }) });
    expect(unsupportedReason(old, catalogNeeds({ minKernel: '6.5' }))).toBe('host h1 has kernel 6.1.0-13-amd64 < 6.5 required');
    expect(unsupportedReason(old, catalogNeeds({ minKernel: '5.8' }))).toBeUndefined();
  });

  it('names the map types the host refused', () => {
    const noRingbuf = host({ capabilities: report({}, { mapTypes: { ringbuf: false, hash: true, lru_hash: null } }) });
    expect(unsupportedReason(noRingbuf, catalogNeeds({ mapTypes: ['hash', 'lru_hash', 'ringbuf'] }))).toBe('host h1 cannot create BPF map type ringbuf');
  });

  it("takes the daemon's verdict on a catalog program, which names what only the host can see", () => {
    const programs = { execsnoop: { supported: false, reason: 'has no tracepoint syscalls:sys_enter_execveat' }, runqlat: { supported: true } };
    const reporting = host({ capabilities: report({}, { programs }) });
    expect(unsupportedReason(reporting, catalogNeeds({}))).toBe('host h1 has no tracepoint syscalls:sys_enter_execveat');
    expect(unsupportedReason(reporting, catalogNeeds({}, 'runqlat'))).toBeUndefined();
    // A verdict on a program the API does not ask about counts for nothing.
    expect(unsupportedReason(reporting, { kernel: { attachTypes: [] }, tools: [] })).toBeUndefined();
  });

  it("says a problem once when the daemon's verdict already names it, and both when they differ", () => {
    const old = { kernelRelease: '6.1.0-13-amd64' };
    const same = host({ capabilities: report({}, { ...old, programs: { execsnoop: { supported: false, reason: 'has kernel 6.1.0-13-amd64 < 6.5 required' } } }) });
    expect(unsupportedReason(same, catalogNeeds({ minKernel: '6.5' }))).toBe('host h1 has kernel 6.1.0-13-amd64 < 6.5 required');
    const more = host({ capabilities: report({}, { ...old, programs: { execsnoop: { supported: false, reason: 'has no tracepoint a:b' } } }) });
    expect(unsupportedReason(more, catalogNeeds({ minKernel: '6.5' }))).toBe('host h1 has kernel 6.1.0-13-amd64 < 6.5 required; has no tracepoint a:b');
  });
});
