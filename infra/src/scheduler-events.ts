/**
 * How many of N sleeps a scheduler tracer can be relied on to see on this kernel.
 *
 * Under CPU contention the kernel occasionally runs a sleeping task again without any BPF program
 * on sched_wakeup or sched_switch seeing it: with four busy loops on two CPUs, 200 two-millisecond
 * sleeps of one process gave 200 sleeping switch-outs and 200 successful nanosleep returns, but
 * 197–199 sched_wakeup and switch-in events in 7 of 40 runs — counted by bpftrace's own
 * tracepoints with none of our programs loaded, and the same shortfall by runqlat beside it.
 * CI then saw 197 of 200 again (three hosts' runqlat attached at once). So the allowance is one
 * sleep in fifty, the measured worst case (3 in 200) with a margin: enough for the kernel, far too
 * little to hide a program that loses wakeups. Why the kernel skips them is not settled: it is not
 * BPF recursion (a 3 × bpftrace reproduction showed no recursion_misses).
 */
export function sleepsSurelySeen(sleeps: number): number {
  return sleeps - Math.ceil(sleeps / 50);
}
