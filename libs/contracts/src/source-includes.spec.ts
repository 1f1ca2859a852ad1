import { describe, expect, it } from 'vitest';
import { refusedInclude, refusedSource } from './source-includes';

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

describe('refusedSource: bpftrace builtins that read files or run commands', () => {
  const CAT = "cat() may read only /proc/loadavg, /proc/uptime, /proc/meminfo, /proc/pressure/cpu, /proc/pressure/memory, /proc/pressure/io, named as a string literal: bpftrace's cat() reads any file as root on the host";

  it.each([
    ['BEGIN { cat("/etc/shadow"); exit(); }', `line 1: ${CAT}`],
    ['BEGIN {\n  cat ( "/proc/1/environ" );\n}', `line 2: ${CAT}`],
    ['tracepoint:syscalls:sys_enter_openat { cat("/proc/%d/environ", pid); }', `line 1: ${CAT}`],
    ['#define SECRET "/etc/shadow"\nBEGIN { cat(SECRET); }', `line 2: ${CAT}`],
    ['BEGIN { cat("/proc/loadavg", 1); }', `line 1: ${CAT}`],
    ['BEGIN { cat(/* x */"/etc/passwd"); }', `line 1: ${CAT}`],
    ['BEGIN { ca\\\nt("/etc/passwd"); }', `line 1: ${CAT}`],
    ['#define C cat\nBEGIN { C("/etc/shadow"); }', "line 1: a macro may not name cat(): bpftrace's cat() reads any file as root on the host"],
    ['#define J(a, b) a##b\nBEGIN { J(ca, t)("/etc/shadow"); }', 'line 1: ## is not allowed in a bpftrace script (a pasted name cannot be checked)'],
    ['BEGIN { system("id"); }', 'line 1: system() is not allowed: it runs a command as root on the host'],
    ['#include "/etc/shadow"\nBEGIN { cat("/etc/shadow"); }', 'line 1: #include "/etc/shadow" is not allowed: bpftrace scripts may include system headers only, as <name.h>'],
  ])('refuses %j', (script, expected) => {
    expect(refusedSource(script, 'bpftrace')).toBe(expected);
  });

  it('lets through cat() of the load figures, and cat or system as names, strings and comments', () => {
    expect(refusedSource('kprobe:oom_kill_process { cat("/proc/loadavg"); }', 'bpftrace')).toBeUndefined();
    expect(refusedSource('#include <linux/sched.h>\n#define CATS 3\nuprobe:/bin/cat:main { @cat[comm] = count(); $cat = 1; @system = $cat; }', 'bpftrace')).toBeUndefined();
    expect(refusedSource('BEGIN { printf("cat(\\"/etc/shadow\\") system(x)\\n"); } // cat("/etc/shadow")\n/* system("id") */', 'bpftrace')).toBeUndefined();
  });

  it('leaves C sources to the include rules (cat is no builtin there)', () => {
    expect(refusedSource('int cat(int x) { return x; }\nint y = cat(1);', 'c')).toBeUndefined();
  });
});
