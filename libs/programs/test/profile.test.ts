import { execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { frameName, readStackTraces, UserSymbolizer } from '@fleettrace/bpf-loader';
import { spawnInCgroup } from '@fleettrace/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countsFromEntries } from '../src/aggregate';
import type { CountsOutputSpec } from '../src/manifest';
import { profile } from '../src/profile/profile';
import { attachAsPlanned } from './support/attach-plan';
import { buildPrograms } from './support/build';
import { createScope, loadProgram, trackKernelObjects, type TestScope } from './support/kernel';

const track = trackKernelObjects();
let scope: TestScope;
let dir: string;
let spinner: string;

/**
 * Spins on the CPU in ft_profile_busy for argv[1] ms (no syscalls inside the loop, so samples land
 * in user mode in that function), then says so and waits for stdin to close, so the test can
 * symbolize against its mappings while it lives.
 */
const SPINNER_C = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

__attribute__((noinline)) unsigned long ft_profile_busy(long ms)
{
	volatile unsigned long x = 0;
	double end = now_ms() + ms;

	while (now_ms() < end)
		for (long i = 0; i < 1000000; i++)
			x += i;
	return x;
}

int main(int argc, char **argv)
{
	char c;

	ft_profile_busy(atol(argv[1]));
	printf("done\n");
	fflush(stdout);
	return read(0, &c, 1) < 0;
}
`;

beforeAll(() => {
  buildPrograms();
  scope = createScope('profile');
  dir = mkdtempSync(join(tmpdir(), 'ft-profile-'));
  writeFileSync(join(dir, 'spinner.c'), SPINNER_C);
  spinner = join(dir, 'ftspin');
  // -O0 and frame pointers, as in the offcputime test, so frame-pointer unwinding reaches main.
  execFileSync('cc', ['-O0', '-g', '-fno-omit-frame-pointer', '-o', spinner, join(dir, 'spinner.c')]);
}, 120_000);

afterAll(() => {
  scope?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** CPU time (user + system) a live process has used, from /proc/<pid>/stat in clock ticks. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime: fields 14 and 15 of stat(5)
  return ticks / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
}

async function startSpinner(cgroup: string, ms: number): Promise<ChildProcess> {
  const child = spawnInCgroup(cgroup, spinner, [String(ms)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  expect(line.toString()).toBe('done\n');
  return child;
}

async function stopSpinner(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.stdin!.end();
  await exited;
}

describe('profile in the kernel', () => {
  it('samples a busy function in the scope, with its name in the symbolized user stack, and nothing outside', async () => {
    const frequency = 199;
    const busyMs = 1000;
    const params = { frequency };
    const spec = profile.outputs[0] as CountsOutputSpec;
    const obj = track(loadProgram(profile, params, scope.filter));
    let inside: ChildProcess | undefined;
    let outside: ChildProcess | undefined;
    try {
      const links = attachAsPlanned(obj, profile, params);
      expect(links.map((l) => l.kind)).toEqual(['perf_event']);
      [inside, outside] = await Promise.all([startSpinner(scope.inside, busyMs), startSpinner(scope.outside, busyMs)]);
      const counts = countsFromEntries(spec, obj.map(spec.map).entries());
      const traces = readStackTraces(obj.map(spec.stacks!.map));
      const user = new UserSymbolizer(inside.pid!);

      expect(counts.entries.filter((e) => e.key.pid === outside!.pid)).toEqual([]);
      const mine = counts.entries.filter((e) => e.key.pid === inside!.pid);
      const total = mine.reduce((sum, e) => sum + e.value, 0);
      // One sample per 1/frequency s of CPU the spinner got (on a busy host, less than its wall time).
      const expected = cpuSeconds(inside.pid!) * frequency;
      expect(expected).toBeGreaterThan(20);
      expect(total).toBeGreaterThanOrEqual(expected * 0.7);
      expect(total).toBeLessThanOrEqual(expected * 1.3);
      const busy = mine
        .map((e) => ({ ...e, user: (traces.get(e.key.user_stack_id as number) ?? []).map((ip) => frameName(user.symbolize(ip))) }))
        .filter((e) => e.user.includes('ft_profile_busy'));
      const busySamples = busy.reduce((sum, e) => sum + e.value, 0);
      expect(busySamples).toBeGreaterThanOrEqual(total * 0.8);
      for (const e of busy) {
        expect(e.key.comm).toBe('ftspin');
        expect(e.user).toContain('main');
      }
    } finally {
      await Promise.all([inside, outside].filter((c): c is ChildProcess => c !== undefined).map(stopSpinner));
      await obj.close();
    }
  }, 30_000);
});
