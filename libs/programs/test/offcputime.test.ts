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
 * innermost user frame is that function and frame pointers lead from it to main. Then waits for
 * its stdin to close, so the test can snapshot its mappings while it lives.
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
	struct timespec ts = { usec / 1000000, (usec % 1000000) * 1000 };
	char c;

	for (long i = 0; i < n; i++)
		ft_offcpu_sleep(&ts);
	printf("done\n");
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

/** Starts the sleeper in a cgroup; resolves once it has done its sleeps, still alive. */
async function startSleeper(cgroup: string, count: number, usec: number): Promise<ChildProcess> {
  const child = spawnInCgroup(cgroup, sleeper, [String(count), String(usec)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  expect(line.toString()).toBe('done\n');
  return child;
}

async function stopSleeper(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.stdin!.end();
  await exited;
}

describe('offcputime in the kernel', () => {
  it('charges a sleeper in the scope its sleep time, with the sleeping user and kernel stacks, and not one outside', async () => {
    const count = 10;
    const usec = 20_000;
    const spec = offcputime.outputs[0] as CountsOutputSpec;
    const obj = track(loadProgram(offcputime, {}, scope.filter));
    let inside: ChildProcess | undefined;
    let outside: ChildProcess | undefined;
    try {
      obj.attachAll();
      [inside, outside] = await Promise.all([startSleeper(scope.inside, count, usec), startSleeper(scope.outside, count, usec)]);
      const user = new UserSymbolizer(inside.pid!);
      const kernel = new KernelSymbolizer();
      const counts = countsFromEntries(spec, obj.map(spec.map).entries());
      const traces = readStackTraces(obj.map(spec.stacks!.map));
      const symbolized = counts.entries.map(({ key, value }) => ({
        key,
        value,
        user: (traces.get(key.user_stack_id as number) ?? []).map((ip) => frameName(user.symbolize(ip))),
        kernel: (traces.get(key.kernel_stack_id as number) ?? []).map((ip) => frameName(kernel.symbolize(ip))),
      }));

      expect(counts.entries.filter((e) => e.key.pid === outside!.pid)).toEqual([]);
      const sleeping = symbolized.filter((s) => s.key.pid === inside!.pid && s.user[0] === 'ft_offcpu_sleep');
      expect(sleeping.length).toBeGreaterThan(0);
      // Each sleep is off CPU from the switch-out (after the timer is armed) to the switch-in (after it fired).
      const total = sleeping.reduce((sum, s) => sum + s.value, 0);
      expect(total).toBeGreaterThanOrEqual(count * usec * 0.99);
      expect(total).toBeLessThan(count * usec * 2);
      for (const s of sleeping) {
        expect(s.key.comm).toBe('ftoffcpu');
        expect(s.user).toContain('main');
        expect(s.kernel.some((name) => /^(__)?schedule$/.test(name))).toBe(true);
        expect(s.kernel.some((name) => /nanosleep/.test(name))).toBe(true);
      }
      // The folded form a flame graph takes: process, user frames outermost first, then the kernel.
      const folded = foldStacks(sleeping.map((s) => ({ comm: s.key.comm as string, user: s.user, kernel: s.kernel, count: s.value })));
      expect(folded.some((line) => /^ftoffcpu;.*main;ft_offcpu_sleep;.*nanosleep.*;(__)?schedule[;\s]/.test(line))).toBe(true);
    } finally {
      await Promise.all([inside, outside].filter((c): c is ChildProcess => c !== undefined).map(stopSleeper));
      await obj.close();
    }
  }, 30_000);
});
