import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BpfError, Btf, btfHasTypedefs } from '../src/index';

const VMLINUX = '/sys/kernel/btf/vmlinux';

describe('btfHasTypedefs on the kernel BTF', () => {
  it('answers as the JS BTF parser does, for declared names and names that are not typedefs', () => {
    const typedefs = new Set(Btf.parse(readFileSync(VMLINUX)).types.filter((t) => t.kind === 'typedef').map((t) => t.name));
    // A declared raw tracepoint, a struct (not a typedef), a typedef of another kind, and nothing at all.
    const names = ['btf_trace_sched_switch', 'btf_trace_block_rq_issue', 'task_struct', 'u64', 'btf_trace_no_such_event'];
    const fromLibbpf = btfHasTypedefs(VMLINUX, names);
    expect(fromLibbpf).toEqual(names.map((name) => typedefs.has(name)));
    expect(fromLibbpf.slice(0, 4)).toEqual([true, true, false, true]);
  });

  it('answers an empty question with an empty list', () => {
    expect(btfHasTypedefs(VMLINUX, [])).toEqual([]);
  });

  it('fails with BpfError naming a file that is not BTF, and with TypeError for names that are not strings', () => {
    expect(() => btfHasTypedefs('/proc/self/status', ['x'])).toThrow(BpfError);
    expect(() => btfHasTypedefs('/proc/self/status', ['x'])).toThrow(/\/proc\/self\/status/);
    expect(() => btfHasTypedefs(VMLINUX, [1 as unknown as string])).toThrow(TypeError);
  });
});
