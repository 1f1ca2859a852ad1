import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { foldStacks, frameName, KernelSymbolizer, readStackTraces, UserSymbolizer } from '@fleettrace/bpf-loader';
import { spawnInCgroup } from '@fleettrace/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countsFromEntries } from '../src/aggregate';
import type { CountsOutputSpec } from '../src/manifest';
import { offcputime } from '../src/offcputime/offcputime';
import { buildPrograms } from './support/build';
import { createScope, loadProgram, trackKernelObjects, type TestScope } from './support/kernel';

const track = trackKernelObjects();
let scope: TestScope;
let dir: string;
let sleeper: string;

/**
 * Sleeps N times for USEC µs in ft_offcpu_sleep, which makes the syscall itself (on x86-64), so the
 * innermost user frame is that function and frame pointers lead from it to main. Prints how long
 * the loop was off CPU by the kernel's own clocks (wall time less the thread's CPU time), then waits
 * for its stdin to close, so the test can snapshot its mappings while it lives.
 */
const SLEEPER_C = String.raw`
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline)) long ft_offcpu_sleep(const struct timespec *ts)
{
#ifdef __x86_64__
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_nanosleep), "D"(ts), "S"(0L) : "rcx", "r11", "memory");
	return ret;
#else
	return syscall(SYS_nanosleep, ts, NULL);
#endif
}

int main(int argc, char **argv)
{
	long n = atol(argv[1]), usec = atol(argv[2]);
	struct timespec ts = { usec / 1000000, (usec % 1000000) * 1000 }, wall0, wall1, cpu0, cpu1;
	char c;

	/* The CPU clock's window holds the wall clock's, so wall less CPU can only come out short of
	 * the time off CPU, never over it: the test's bounds are lower ones. (Reading the CPU clock
	 * is a syscall; a preemption on its way out falls outside the wall window.) */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
	clock_gettime(CLOCK_MONOTONIC, &wall0);
	for (long i = 0; i < n; i++)
		ft_offcpu_sleep(&ts);
	clock_gettime(CLOCK_MONOTONIC, &wall1);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
	printf("done %lld\n", ((wall1.tv_sec - wall0.tv_sec) * 1000000000LL + (wall1.tv_nsec - wall0.tv_nsec) -
			       (cpu1.tv_sec - cpu0.tv_sec) * 1000000000LL - (cpu1.tv_nsec - cpu0.tv_nsec)) / 1000);
	fflush(stdout);
	return read(0, &c, 1) < 0;
}
`;

beforeAll(() => {
  buildPrograms();
  scope = createScope('offcputime');
  dir = mkdtempSync(join(tmpdir(), 'ft-offcputime-'));
  writeFileSync(join(dir, 'sleeper.c'), SLEEPER_C);
  sleeper = join(dir, 'ftoffcpu');
  // -O0: at any optimisation gcc leaves the frame pointer out of a leaf that needs no stack, even
  // with -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer, and main would drop out of the stack.
  execFileSync('cc', ['-O0', '-g', '-fno-omit-frame-pointer', '-o', sleeper, join(dir, 'sleeper.c')]);
}, 120_000);

afterAll(() => {
  scope?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Sleeper {
  child: ChildProcess;
  /**
   * µs its loop of sleeps spent off CPU: wall time less the thread's CPU time. The CPU clock counts
   * the time an interrupt or the hypervisor took from the thread as the thread's own, as this
   * kernel accounts it (no IRQ time or steal in /proc/stat); a kernel that accounts them apart
   * would count them here as off CPU, where the program rightly sees none.
   */
  offCpuUs: number;
}

/**
 * Starts the sleeper in a cgroup; resolves once it has done its sleeps, still alive. Every child
 * goes into `started` as it is spawned, so the test stops it whatever happens after.
 */
async function startSleeper(started: ChildProcess[], cgroup: string, count: number, usec: number): Promise<Sleeper> {
  const child = spawnInCgroup(cgroup, sleeper, [String(count), String(usec)], { stdio: ['pipe', 'pipe', 'inherit'] });
  started.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    child.once('exit', (code, signal) => reject(new Error(`the sleeper exited ${code ?? signal} before its sleeps were done`)));
    child.once('error', reject);
  });
  const done = /^done (\d+)\n$/.exec(line);
  if (!done) throw new Error(`the sleeper printed ${JSON.stringify(line)}, not "done <µs>"`);
  return { child, offCpuUs: Number(done[1]) };
}

/** Closes its stdin (its way out), or kills it if that is not enough; resolves once it has exited. */
async function stopSleeper(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.stdin!.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

describe('offcputime in the kernel', () => {
  it('charges a sleeper in the scope its off-CPU time, with the sleeping user and kernel stacks, and not one outside', async () => {
    const count = 10;
    const usec = 20_000;
    const spec = offcputime.outputs[0] as CountsOutputSpec;
    const obj = track(loadProgram(offcputime, {}, scope.filter));
    const started: ChildProcess[] = [];
    try {
      obj.attachAll();
      const [inside, outside] = await Promise.all([startSleeper(started, scope.inside, count, usec), startSleeper(started, scope.outside, count, usec)]);
      const insidePid = inside.child.pid!;
      const user = new UserSymbolizer(insidePid);
      const kernel = new KernelSymbolizer();
      const counts = countsFromEntries(spec, obj.map(spec.map).entries());
      const traces = readStackTraces(obj.map(spec.stacks!.map));
      const symbolized = counts.entries.map(({ key, value }) => ({
        key,
        value,
        user: (traces.get(key.user_stack_id as number) ?? []).map((ip) => frameName(user.symbolize(ip))),
        kernel: (traces.get(key.kernel_stack_id as number) ?? []).map((ip) => frameName(kernel.symbolize(ip))),
      }));
      const outsidePid = outside.child.pid!;
      expect(counts.entries.filter((e) => e.key.pid === outsidePid)).toEqual([]);

      // Every failure below prints what the program recorded for the sleeper.
      const mine = symbolized.filter((s) => s.key.pid === insidePid && s.key.comm === 'ftoffcpu');
      // The kernel frames from the third: the first two are the BPF program and its trampoline.
      const recorded = `the loop was off CPU ${inside.offCpuUs} µs; recorded: ${JSON.stringify(
        mine.map((s) => ({ us: s.value, ids: [s.key.user_stack_id, s.key.kernel_stack_id], user: s.user.slice(0, 3), kernel: s.kernel.slice(2, 8) })),
      )}`;
      const sum = (entries: typeof mine) => entries.reduce((total, s) => total + s.value, 0);
      // The sleeps themselves, by the kernel's own clocks. Not count * usec: a sleep whose timer
      // expires before the task gets to schedule() (a long interrupt, the hypervisor holding the
      // vCPU) never leaves the CPU, and the program is right not to charge it.
      expect(inside.offCpuUs, recorded).toBeGreaterThan(count * usec * 0.5);
      // Every µs the loop spent off CPU is charged to the process, from each switch-out to the
      // switch-in after it, and to the stacks it left the CPU in. The process's start (exec, the
      // loader) and end add a little: far less than half as much again, as charging a block twice would.
      expect(sum(mine), recorded).toBeLessThan(inside.offCpuUs * 1.5 + 2_000);
      // Within the window the only user code is main's loop, ft_offcpu_sleep's few instructions
      // and the clock reads that bound it, so the loop's off-CPU time is in the syscall, under
      // ft_offcpu_sleep; else preempted in main or a clock read (libc's clock_gettime keeps no
      // frame pointer, so main may be missing under it), or under no user stack where the kernel
      // could not take one. Not under the loader's frames.
      const sleeping = mine.filter((s) => s.user[0] === 'ft_offcpu_sleep');
      const inLoop = mine.filter(
        (s) => (s.key.user_stack_id as number) < 0 || s.user[0] === 'ft_offcpu_sleep' || s.user.includes('main') || s.user.some((name) => /clock_gettime|\[vdso\]/.test(name)),
      );
      expect(sum(inLoop), recorded).toBeGreaterThanOrEqual(inside.offCpuUs * 0.99);
      // Most of it asleep in nanosleep; the rest, if any, preempted on the way in or out.
      const inNanosleep = sleeping.filter((s) => s.kernel.some((name) => /nanosleep/.test(name)));
      expect(sum(inNanosleep), recorded).toBeGreaterThan(inside.offCpuUs * 0.5);
      for (const s of sleeping) {
        expect(s.user, recorded).toContain('main');
        // Where the kernel could take its stack (a negative id: it could not).
        if ((s.key.kernel_stack_id as number) >= 0) expect(s.kernel.some((name) => /^(__)?schedule$/.test(name)), recorded).toBe(true);
      }
      // The folded form a flame graph takes: process, user frames outermost first, then the kernel.
      const folded = foldStacks(sleeping.map((s) => ({ comm: s.key.comm as string, user: s.user, kernel: s.kernel, count: s.value })));
      expect(folded.some((line) => /^ftoffcpu;.*main;ft_offcpu_sleep;.*nanosleep.*;(__)?schedule[;\s]/.test(line)), recorded).toBe(true);
    } finally {
      await Promise.allSettled(started.map(stopSleeper));
      await obj.close();
    }
  }, 30_000);
});
