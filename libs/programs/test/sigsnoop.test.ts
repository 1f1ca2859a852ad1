import { readFileSync } from 'node:fs';
import type { EventRecord } from '@fleettrace/contracts';
import { runInCgroup, spawnInCgroup } from '@fleettrace/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sigsnoop } from '../src/sigsnoop/sigsnoop';
import { buildPrograms } from './support/build';
import { createScope, trackKernelObjects, type TestScope, collectEvents } from './support/kernel';

const track = trackKernelObjects();
let scope: TestScope;

beforeAll(() => {
  buildPrograms();
  scope = createScope('sigsnoop');
}, 120_000);

afterAll(() => scope?.remove());

interface Sleeper {
  pid: number;
  exited: Promise<NodeJS.Signals | null>;
}

/** A `sleep 10` in the cgroup, returned once it runs there (its comm is sleep only after the exec into it). */
async function sleeper(cgroup: string): Promise<Sleeper> {
  const child = spawnInCgroup(cgroup, 'sleep', ['10'], { stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const pid = child.pid!;
  for (let i = 0; i < 200 && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'sleep'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { pid, exited };
}

function snoop(params: unknown, workload: () => Promise<void>): Promise<EventRecord[]> {
  return collectEvents(track, sigsnoop, params, scope.filter, workload);
}

describe('sigsnoop in the kernel', () => {
  it('sees a kill to a task inside the scope and from a task inside it, and none that stays outside', async () => {
    const inside = await sleeper(scope.inside);
    const outside = await sleeper(scope.outside);
    const bystander = await sleeper(scope.outside);
    try {
      const events = await snoop({}, async () => {
        // From this process (outside the scope) to a task inside it.
        process.kill(inside.pid, 'SIGUSR1');
        expect(await inside.exited).toBe('SIGUSR1');
        // From a shell inside the scope to a task outside it.
        await runInCgroup(scope.inside, '/bin/sh', ['-c', `kill -USR2 ${outside.pid}`]);
        expect(await outside.exited).toBe('SIGUSR2');
        // Outside to outside.
        process.kill(bystander.pid, 'SIGHUP');
        expect(await bystander.exited).toBe('SIGHUP');
      });

      const toInside = events.filter((e) => e.target_pid === inside.pid);
      expect(toInside).toEqual([
        expect.objectContaining({ sig: 'SIGUSR1', pid: process.pid, target_tid: inside.pid, target_comm: 'sleep', code: 0, result: 0, group: 1 }),
      ]);
      const toOutside = events.filter((e) => e.target_pid === outside.pid);
      expect(toOutside).toEqual([expect.objectContaining({ sig: 'SIGUSR2', comm: 'sh', target_comm: 'sleep', result: 0 })]);
      expect(events.filter((e) => e.target_pid === bystander.pid)).toEqual([]);
      expect(events.filter((e) => e.sig === 'SIGHUP')).toEqual([]);
    } finally {
      for (const s of [inside, outside, bystander]) {
        try {
          process.kill(s.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });

  it('keeps only the signal and the target asked for', async () => {
    const target = await sleeper(scope.inside);
    const other = await sleeper(scope.inside);
    try {
      const events = await snoop({ signal: 'USR1', targetPid: target.pid }, async () => {
        process.kill(other.pid, 'SIGUSR1');
        process.kill(target.pid, 'SIGWINCH'); // ignored by default: sleep lives on
        process.kill(target.pid, 'SIGUSR1');
        await Promise.all([target.exited, other.exited]);
      });
      expect(events.map((e) => [e.target_pid, e.sig])).toEqual([[target.pid, 'SIGUSR1']]);
    } finally {
      for (const s of [target, other]) {
        try {
          process.kill(s.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });

  it('rejects an unknown signal name', () => {
    const result = sigsnoop.params.safeParse({ signal: 'SIGNOPE' });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message)).toEqual(['unknown signal "SIGNOPE"']);
    expect(sigsnoop.params.parse({ signal: 'sigusr2' })).toMatchObject({ signal: 12 });
  });
});
