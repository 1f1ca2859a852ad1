import { describe, expect, it } from 'vitest';
import { ATTACH_KINDS, type AttachProbe } from './capabilities';
import { kernelRequirementProblems, type KernelFacts, type KernelRequirements } from './kernel-requirements';

const attachTypes = (refused: Record<string, string> = {}): Record<string, AttachProbe> =>
  Object.fromEntries(ATTACH_KINDS.map((kind) => [kind, kind in refused ? { supported: false, reason: refused[kind] } : { supported: true }]));

/** A Debian 12 host with everything but kprobes, and only the tracepoints and BTF hooks listed. */
const host = (overrides: Partial<KernelFacts> = {}): KernelFacts => ({
  btf: true,
  kernelRelease: '6.1.0-13-amd64',
  attachTypes: attachTypes({ kprobe: 'no kprobe PMU and no tracefs kprobe_events' }),
  mapTypes: { array: true, hash: true, percpu_array: true, ringbuf: true, stack_trace: true, lru_hash: null },
  hasTracepoint: (id) => ['syscalls:sys_enter_execve', 'sched:sched_switch'].includes(id),
  hasRawTracepoint: (name) => ['sched_switch', 'sched_wakeup'].includes(name),
  ...overrides,
});

const needs = (overrides: Partial<KernelRequirements> = {}): KernelRequirements => ({
  attachTypes: ['tracepoint'],
  minKernel: '5.8',
  btf: true,
  mapTypes: ['array', 'ringbuf'],
  tracepoints: ['syscalls:sys_enter_execve'],
  rawTracepoints: ['sched_switch'],
  ...overrides,
});

describe('kernelRequirementProblems', () => {
  it('finds nothing wrong with a host that has everything', () => {
    expect(kernelRequirementProblems(needs(), host())).toEqual([]);
  });

  it('names the kernel release and the minimum when the kernel is too old', () => {
    expect(kernelRequirementProblems(needs({ minKernel: '6.5' }), host())).toEqual(['has kernel 6.1.0-13-amd64 < 6.5 required']);
    expect(kernelRequirementProblems(needs({ minKernel: '6.1' }), host())).toEqual([]);
  });

  it('names each missing tracepoint', () => {
    const problems = kernelRequirementProblems(needs({ tracepoints: ['syscalls:sys_enter_execve', 'syscalls:sys_enter_open', 'block:block_io_start'] }), host());
    expect(problems).toEqual(['has no tracepoint syscalls:sys_enter_open, block:block_io_start']);
  });

  it('names each missing raw tracepoint and where it was looked for', () => {
    expect(kernelRequirementProblems(needs({ rawTracepoints: ['sched_switch', 'block_io_start'] }), host())).toEqual([
      'has no raw tracepoint block_io_start (no btf_trace_block_io_start in its BTF)',
    ]);
    expect(kernelRequirementProblems(needs({ rawTracepoints: ['a', 'b'] }), host())).toEqual(['has no raw tracepoint a, b (no btf_trace_<name> in its BTF)']);
  });

  it('names each map type the kernel refused, and gives the benefit of the doubt where the probe could not tell', () => {
    const facts = host({ mapTypes: { array: true, ringbuf: false, lru_hash: null } });
    expect(kernelRequirementProblems(needs({ mapTypes: ['array', 'ringbuf', 'lru_hash', 'bloom_filter'] }), facts)).toEqual([
      'cannot create BPF map type ringbuf',
    ]);
  });

  it('names each refused attach type with the kernel and its reason', () => {
    expect(kernelRequirementProblems(needs({ attachTypes: ['kprobe', 'tracepoint'] }), host())).toEqual([
      'cannot attach kprobe (no kprobe PMU and no tracefs kprobe_events) on kernel 6.1.0-13-amd64',
    ]);
  });

  it('lists every problem, BTF first', () => {
    const facts = host({ btf: false, kernelRelease: '5.4.0-150-generic', mapTypes: { ringbuf: false }, hasTracepoint: () => false });
    expect(kernelRequirementProblems(needs(), facts)).toEqual([
      'has no kernel BTF (/sys/kernel/btf/vmlinux)',
      'has kernel 5.4.0-150-generic < 5.8 required',
      'cannot create BPF map type ringbuf',
      'has no tracepoint syscalls:sys_enter_execve',
    ]);
  });

  it('checks only what is known: the API knows no hooks, an odd release string passes', () => {
    const report = { btf: true, kernelRelease: 'custom', attachTypes: attachTypes(), mapTypes: { ringbuf: true } };
    expect(kernelRequirementProblems(needs({ tracepoints: ['no:such'], rawTracepoints: ['nosuch'] }), report)).toEqual([]);
    expect(kernelRequirementProblems(needs({ rawTracepoints: ['nosuch'] }), host({ hasRawTracepoint: () => undefined }))).toEqual([]);
    expect(kernelRequirementProblems({ attachTypes: ['tp_btf'] }, {})).toEqual([]);
  });
});
