import { describe, expect, it } from 'vitest';
import { scriptMaps, SNAPSHOT_BEGIN, SNAPSHOT_END, withMapSnapshots } from './bpftrace-maps';

describe('scriptMaps', () => {
  it('finds every map with its key count and value function, outside comments, strings and preprocessor lines', () => {
    const script = `#include <linux/sched.h>
// @commented = count();
BEGIN { printf("@notamap %d\\n", 1); /* @neither */ @reason[0] = "background"; }
tracepoint:a:b /@seen[tid]/ {
  @[comm] = count();
  @lat[args->a[0], (uint64)args->b] = hist(args->c);
  @q = lhist ($x, 0, 10, 1);
  @s[kstack, comm] = count();
  @stack[tid] = kstack;
  @sym[pid] = ksym(reg("ip"));
  @start[tid] = nsecs;
  @total += 1;
  @seen[tid] = 1;
  if (@start[tid] == 0) { delete(@start[tid]); }
  print(@avg); @avg = avg(2);
}`;
    expect([...scriptMaps(script).values()]).toEqual([
      { name: '@reason', keys: 1 },
      { name: '@seen', keys: 1 },
      { name: '@', keys: 1, valueFunction: 'count' },
      { name: '@lat', keys: 2, valueFunction: 'hist' },
      { name: '@q', keys: 0, valueFunction: 'lhist' },
      { name: '@s', keys: 2, valueFunction: 'count' },
      { name: '@stack', keys: 1, valueFunction: 'kstack' },
      { name: '@sym', keys: 1, valueFunction: 'ksym' },
      { name: '@start', keys: 1 },
      { name: '@total', keys: 0 },
      { name: '@avg', keys: 0, valueFunction: 'avg' },
    ]);
  });

  it('finds the maps of a tool Debian ships', () => {
    // As in /usr/sbin/killsnoop.bt: both maps are printed, empty, when it exits.
    const killsnoop = 'tracepoint:syscalls:sys_enter_kill { @tpid[tid] = args->pid; @tsig[tid] = args->sig; }';
    expect([...scriptMaps(killsnoop).keys()]).toEqual(['@tpid', '@tsig']);
  });
});

describe('withMapSnapshots', () => {
  it('adds a probe that prints every map between the snapshot markers each interval', () => {
    const script = 'tracepoint:syscalls:sys_enter_getpriority { @calls[comm] = count(); @lat = hist(args->who); }';
    expect(withMapSnapshots(script, 5)).toBe(
      `${script}\ninterval:s:5 { print("${SNAPSHOT_BEGIN}"); print(@calls); print(@lat); print("${SNAPSHOT_END}"); }\n`,
    );
  });

  it('leaves a script without maps as it is', () => {
    expect(withMapSnapshots('BEGIN { printf("hi\\n"); }', 1)).toBe('BEGIN { printf("hi\\n"); }');
  });

  it.each([0, 1.5, -1, Number.NaN])('refuses an interval of %s s', (seconds) => {
    expect(() => withMapSnapshots('BEGIN { @a = 1; }', seconds)).toThrow(new RangeError(`snapshot interval must be a whole number of seconds, got ${seconds}`));
  });

  it('keeps markers short enough for a bpftrace string', () => {
    // bpftrace 0.17 strings hold 64 bytes with their NUL.
    for (const marker of [SNAPSHOT_BEGIN, SNAPSHOT_END]) expect(marker.length).toBeLessThan(64);
  });
});
