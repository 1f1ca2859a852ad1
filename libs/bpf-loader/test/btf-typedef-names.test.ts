import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BpfError, Btf, btfTypedefNames } from '../src/index';

const VMLINUX = '/sys/kernel/btf/vmlinux';

describe('btfTypedefNames on the kernel BTF', () => {
  it('lists the same btf_trace_ typedefs as the JS BTF parser does', () => {
    const fromLibbpf = btfTypedefNames(VMLINUX, 'btf_trace_');
    const fromJs = Btf.parse(readFileSync(VMLINUX))
      .types.filter((t) => t.kind === 'typedef' && t.name.startsWith('btf_trace_'))
      .map((t) => t.name.slice('btf_trace_'.length));
    expect(fromLibbpf).toContain('sched_switch');
    expect(fromLibbpf.length).toBeGreaterThan(100);
    expect([...fromLibbpf].sort()).toEqual([...fromJs].sort());
  });

  it('fails with BpfError naming a file that is not BTF', () => {
    expect(() => btfTypedefNames('/proc/self/status', 'x')).toThrow(BpfError);
    expect(() => btfTypedefNames('/proc/self/status', 'x')).toThrow(/\/proc\/self\/status/);
  });
});
