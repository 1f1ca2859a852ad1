import { describe, expect, it } from 'vitest';
import { scopeScriptToCgroup } from './bpftrace-scope';

describe('scopeScriptToCgroup', () => {
  it('guards every task-context probe block as its first statement, keeping the user predicate and line numbers', () => {
    const script = 'tracepoint:syscalls:sys_enter_getpriority /pid > 1/ {\n  @[comm] = count();\n}\nkprobe:a, kprobe:b { @x = 1; }';
    const scoped = scopeScriptToCgroup(script, ['42']);
    expect(scoped.script).toBe(
      'tracepoint:syscalls:sys_enter_getpriority /pid > 1/ { if (cgroup != 42) { return; }\n  @[comm] = count();\n}\nkprobe:a, kprobe:b { if (cgroup != 42) { return; } @x = 1; }',
    );
    expect(scoped.script.split('\n').length).toBe(script.split('\n').length);
    expect(scoped).toMatchObject({ guarded: 2, unguarded: 0 });
  });

  it('leaves BEGIN, END and interval blocks, type definitions, comments, strings, nested braces and preprocessor lines alone', () => {
    const script = [
      '#include <linux/sched.h>',
      'struct foo { int a; };',
      '// not a block {',
      'BEGIN { printf("{ hi }\\n"); }',
      'uprobe:/bin/bash:readline /comm == "a/b"/ { if (1) { @ = count(); } }',
      'interval:s:1 { print(@); }',
      'END { clear(@); }',
    ].join('\n');
    const scoped = scopeScriptToCgroup(script, ['7']);
    expect(scoped.script).toBe(script.replace('"a/b"/ {', '"a/b"/ { if (cgroup != 7) { return; }'));
    expect(scoped).toMatchObject({ guarded: 1, unguarded: 3 });
  });

  it('guards a block that lists BEGIN with task probes (no way around the scope)', () => {
    expect(scopeScriptToCgroup('BEGIN, tracepoint:a:b { @ = 1; }', ['1'])).toMatchObject({ guarded: 1 });
  });

  it('guards on every cgroup of a subtree', () => {
    expect(scopeScriptToCgroup('tracepoint:a:b { @ = count(); }', ['5', '6', '9']).script).toBe(
      'tracepoint:a:b { if (cgroup != 5 && cgroup != 6 && cgroup != 9) { return; } @ = count(); }',
    );
  });

  it('refuses an empty or non-decimal scope', () => {
    expect(() => scopeScriptToCgroup('tracepoint:a:b { }', [])).toThrow('a cgroup scope needs at least one cgroup id');
    expect(() => scopeScriptToCgroup('tracepoint:a:b { }', ['1', 'x'])).toThrow('cgroup id must be decimal, got "x"');
  });
});
