import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultRunLimits } from '@fleettrace/contracts';
import { bpfObjectsHeldBy } from '@fleettrace/bpf-loader/testing';
import { isAlive, StopWaiting, waitFor } from '@fleettrace/infra/stack';
import { encodeLine, READY_LINE } from '../src/stdio-serve';
import type { RunnerMessage, RunnerStart } from '../src/protocol';

const REMOTE_MAIN = fileURLToPath(new URL('../src/remote-main.ts', import.meta.url));

function execsnoop(durationSeconds: number): RunnerStart {
  return { type: 'start', runId: randomUUID(), program: 'execsnoop', params: {}, durationSeconds, cgroupId: null, limits: defaultRunLimits() };
}

/** The runner an SSH host runs (remote-main.ts), here with pipes for its stdio as sshd gives it. */
function remoteRunner(): { child: ChildProcess; lines: string[]; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', REMOTE_MAIN, '--idle-exit-after-ms', '60000'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exit };
}

const readies = (lines: string[]): number => lines.filter((line) => line === READY_LINE).length;
const messagesOf = (lines: string[], from: number): RunnerMessage[] =>
  lines
    .slice(from)
    .filter((line) => line !== READY_LINE)
    .map((line) => JSON.parse(line) as RunnerMessage);

describe('the remote runner serves run after run (real kernel)', () => {
  let runner: ReturnType<typeof remoteRunner> | undefined;
  afterAll(() => runner?.child.kill('SIGKILL'));

  it('says it is ready, runs a catalog program, holds nothing after it and says ready again, runs the next in the same process, and exits 0 when its input ends', async () => {
    runner = remoteRunner();
    const { child, lines } = runner;
    await waitFor('the runner up', async () => readies(lines) === 1, 30_000);
    expect(bpfObjectsHeldBy(child.pid!)).toEqual({ progs: [], maps: [], links: [] });

    for (const [i, start] of [execsnoop(1), execsnoop(1)].entries()) {
      const from = lines.length;
      child.stdin!.write(encodeLine({ ...start, exitAfterMs: 30_000 }));
      const messages = (): RunnerMessage[] => messagesOf(lines, from);
      await waitFor(`run ${i + 1} running`, async () => {
        const failed = messages().find((m) => m.type === 'failed');
        if (failed) throw new StopWaiting(`run ${i + 1} failed: ${JSON.stringify(failed)}`);
        return messages().some((m) => m.type === 'state' && m.state === 'running');
      }, 30_000, 20);
      expect(bpfObjectsHeldBy(child.pid!).progs.length).toBeGreaterThan(0);
      await waitFor(`run ${i + 1} reported and the runner ready again`, async () => readies(lines) === i + 2, 30_000, 20);
      expect(messages().at(-1)?.type).toBe('done');
      // Ready again only because its run closed everything it had loaded.
      expect(bpfObjectsHeldBy(child.pid!)).toEqual({ progs: [], maps: [], links: [] });
      expect(isAlive(child.pid!)).toBe(true);
    }

    child.stdin!.end();
    expect(await runner.exit).toBe(0);
  });
});
