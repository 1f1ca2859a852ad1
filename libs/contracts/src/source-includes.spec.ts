import { describe, expect, it } from 'vitest';
import { refusedInclude } from './source-includes';

describe('refusedInclude', () => {
  it('lets the shipped headers through', () => {
    expect(refusedInclude('#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n  #  include <bpf/bpf_tracing.h>\nint x;', 'c')).toBeUndefined();
    expect(refusedInclude('#include <linux/sched.h>\nkprobe:f { }', 'bpftrace')).toBeUndefined();
  });

  it.each([
    ['int a = \n#include "/etc/shadow"\n;', 'c', 'line 2: #include "/etc/shadow" is outside the allowed include directories: name a header relative to them (vmlinux.h, bpf/*.h)'],
    ['#include <../../etc/shadow>', 'c', 'line 1: #include <../../etc/shadow> is outside the allowed include directories: name a header relative to them (vmlinux.h, bpf/*.h)'],
    ['#define F "/etc/shadow"\n#include F', 'c', 'line 2: #include must name a header as "name.h" or <name.h> (a computed include cannot be checked)'],
    ['#/* hidden */include "/etc/shadow"', 'c', 'line 1: #include "/etc/shadow" is outside the allowed include directories: name a header relative to them (vmlinux.h, bpf/*.h)'],
    ['int x;\n#inc\\\nlude "/etc/shadow"', 'c', 'line 2: #include "/etc/shadow" is outside the allowed include directories: name a header relative to them (vmlinux.h, bpf/*.h)'],
    ['%:include "/etc/shadow"', 'c', 'line 1: #include "/etc/shadow" is outside the allowed include directories: name a header relative to them (vmlinux.h, bpf/*.h)'],
    ['#include_next <x.h>', 'c', 'line 1: #include_next is not allowed'],
    ['#embed "/etc/shadow"', 'c', 'line 1: #embed is not allowed'],
    ['#if __has_include("/etc/shadow")\n#endif', 'c', 'line 1: __has_include is not allowed in a custom C program'],
    ['asm(".incbin \\"/etc/shadow\\"");', 'c', 'line 1: .incbin is not allowed in a custom C program'],
    ['#include "/etc/shadow"\nBEGIN { }', 'bpftrace', 'line 1: #include "/etc/shadow" is not allowed: bpftrace scripts may include system headers only, as <name.h>'],
    ['#include "local.h"\nBEGIN { }', 'bpftrace', 'line 1: #include "local.h" is not allowed: bpftrace scripts may include system headers only, as <name.h>'],
    ['#include </etc/shadow>\nBEGIN { }', 'bpftrace', 'line 1: #include </etc/shadow> is outside the allowed include directories: name a header relative to them'],
  ] as const)('refuses %j', (source, rules, expected) => {
    expect(refusedInclude(source, rules)).toBe(expected);
  });

  it('does not read an include inside a string or comment as one', () => {
    expect(refusedInclude('// #include "/etc/shadow"\nchar s[] = "#include \\"/etc/shadow\\"";', 'c')).toBeUndefined();
  });
});
