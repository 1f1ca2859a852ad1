import { describe, expect, it } from 'vitest';
import { bpftraceAttachKinds } from './bpftrace-probes';

describe('bpftraceAttachKinds', () => {
  it('names the attach type of each probe provider, aliases included, once each in order of first use', () => {
    expect(bpftraceAttachKinds('kprobe:vfs_read { @[comm] = count(); } kr:vfs_read { @r = count(); } k:vfs_write {}')).toEqual(['kprobe', 'kretprobe']);
    expect(bpftraceAttachKinds('kfunc:vfs_read, fexit:vfs_read /pid == 1/ { @ = count(); }')).toEqual(['fentry', 'fexit']);
    expect(bpftraceAttachKinds('t:syscalls:sys_enter_openat { } uprobe:/bin/bash:readline { } ur:/bin/bash:readline { }')).toEqual(['tracepoint', 'uprobe', 'uretprobe']);
  });

  it('does not judge providers bpftrace attaches its own way by kernel (BEGIN, interval, profile, rawtracepoint, usdt)', () => {
    expect(bpftraceAttachKinds('BEGIN { } interval:s:1 { exit(); } profile:hz:99 { } rawtracepoint:sched_switch { } usdt:/bin/x:p:q { } END { }')).toEqual([]);
  });

  it('reads probe headers only: not actions, strings or comments', () => {
    const script = [
      '// kprobe:commented_out { }',
      '/* kretprobe:also_not { } */',
      'tracepoint:syscalls:sys_enter_getpriority /comm == "k:x"/ {',
      '  $k = 1; @m[$k ? k:1] = count(); printf("kprobe:%s\\n", "fentry:y");',
      '  if (1) { @n = count(); }',
      '}',
    ].join('\n');
    expect(bpftraceAttachKinds(script)).toEqual(['tracepoint']);
  });

  it('finds a probe after a block closes on the same line and in a comma-separated list', () => {
    expect(bpftraceAttachKinds('t:a:b { }kprobe:f{}')).toEqual(['tracepoint', 'kprobe']);
    expect(bpftraceAttachKinds('t:a:b,kretprobe:f { }')).toEqual(['tracepoint', 'kretprobe']);
  });
});
