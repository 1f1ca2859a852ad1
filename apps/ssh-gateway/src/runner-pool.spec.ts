import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { resolveRunLimits, type RunLimits } from '@fleettrace/contracts';
import { serveRunnerOverStdio, type RunnerMessage, type RunnerStart } from '@fleettrace/runner';
import { ANNOUNCE_PROCESS } from './remote-process';
import { HostRunners } from './runner-pool';
import { Semaphore } from './semaphore';
import type { RemoteCommand, SshSession } from './ssh/ssh-session';

const limits = (resolveRunLimits(undefined) as { limits: RunLimits }).limits;
const start = (runId: string): RunnerStart => ({ type: 'start', runId, program: 'not-in-the-catalog', params: {}, durationSeconds: 5, cgroupId: null, limits });

/**
 * A host whose runners are the runner's own stdio protocol (serveRunnerOverStdio) in this process:
 * each spawn is one runner, booted (saying it is ready) when the test says so, its catalog empty, so
 * each run ends at once `failed`. `held` is what its runs leave in the kernel.
 */
class FakeHost {
  readonly spawned: { argv: readonly string[]; input: PassThrough; boot: () => void; exited: boolean }[] = [];
  alive = true;
  held: Record<string, number> = {};

  session(): SshSession {
    return { alive: this.alive, spawn: (argv: readonly string[]) => this.spawn(argv), address: 'fake:22' } as unknown as SshSession;
  }

  private spawn(argv: readonly string[]): RemoteCommand {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const command = Object.assign(new EventEmitter(), { stdin, stdout, stderr, exitCode: null as number | null, signalCode: null, kill: () => stdin.end() });
    const entry = { argv, input: stdin, exited: false, boot: () => {} };
    entry.boot = () => {
      // As the host's sh does before it execs node (remote-process.ts ANNOUNCE_PROCESS).
      stdout.write(`fleettrace-process ${4000 + this.spawned.indexOf(entry)} 4000 1234\n`);
      serveRunnerOverStdio({
        input: stdin,
        output: stdout,
        idleExitAfterMs: 60_000,
        resolveProgram: () => undefined,
        heldObjects: () => this.held,
        exit: (code) => {
          entry.exited = true;
          command.exitCode = code;
          stdout.end();
          stderr.end();
          setImmediate(() => command.emit('close', code, null));
        },
      });
    };
    this.spawned.push(entry);
    return command as unknown as RemoteCommand;
  }
}

function pool(host: FakeHost, boots = new Semaphore(2), maxIdle = 2): HostRunners {
  return new HostRunners(host.session(), '/var/lib/fleettrace/runner-x', { standbyBoots: boots, maxIdle });
}

async function runOn(runners: HostRunners, runId: string, stop: Promise<void> = new Promise(() => {})) {
  const { runner, source } = runners.take();
  const messages: RunnerMessage[] = [];
  const end = await runner.execute(start(runId), 20_000, stop, (m) => messages.push(m));
  return { runner, source, end, messages };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
/** Lets the runners' lines and the pool's promises settle until `condition` holds (a few turns of the loop). */
async function settled(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !condition(); i++) await tick();
  expect(condition()).toBe(true);
}

describe("a host's runners", () => {
  it('start one for a run when none is up, and give the next run the same process once it says it is ready again', async () => {
    const host = new FakeHost();
    const runners = pool(host);
    const first = runOn(runners, 'r1');
    expect(host.spawned).toHaveLength(1);
    expect(host.spawned[0]!.argv).toEqual(['sh', '-c', `runner=$0 idle=$1; ${ANNOUNCE_PROCESS} && exec node "$runner" --idle-exit-after-ms "$idle"`, '/var/lib/fleettrace/runner-x/runner.mjs', '600000']);
    host.spawned[0]!.boot();
    const one = await first;
    expect(one.source).toBe('cold');
    // Its announcement is taken as the host's process, not as a line of the run.
    expect(one.runner.process).toEqual({ pid: 4000, pgid: 4000, startTicks: '1234' });
    expect(one.end).toMatchObject({ reported: true });
    expect(one.messages).toEqual([{ type: 'failed', unsupported: true, error: `program "not-in-the-catalog" is not in this runner's catalog` }]);
    await settled(() => one.runner.state === 'idle');
    const two = await runOn(runners, 'r2');
    expect(two.source).toBe('idle');
    expect(two.runner).toBe(one.runner);
    expect(host.spawned).toHaveLength(1);
  });

  it('never reuse a runner whose run left a kernel object open: it exits, its replacement is started at once, and the next run takes that', async () => {
    const host = new FakeHost();
    host.held = { 'bpf-prog': 1 };
    const runners = pool(host);
    const first = runOn(runners, 'r1');
    host.spawned[0]!.boot();
    await (await first).runner.ended;
    expect(host.spawned[0]!.exited).toBe(true);
    expect(host.spawned).toHaveLength(2);
    const second = runOn(runners, 'r2');
    host.spawned[1]!.boot();
    expect((await second).source).toBe('booting');
    expect(host.spawned).toHaveLength(2);
  });

  it('start one ahead of time only when none is idle or booting, and no more at once than the gateway allows', async () => {
    const boots = new Semaphore(1);
    const a = new FakeHost();
    const b = new FakeHost();
    const runnersA = pool(a, boots);
    const runnersB = pool(b, boots);
    runnersA.replenish();
    runnersA.replenish();
    runnersB.replenish();
    await tick();
    // One boot slot: A's standby boots, B's waits for it to be up.
    expect([a.spawned.length, b.spawned.length]).toEqual([1, 0]);
    a.spawned[0]!.boot();
    await settled(() => b.spawned.length === 1);
    expect(a.spawned).toHaveLength(1);
    // A run taking B's booting standby uses it; the run's start waits in its input until it is up.
    const run = runOn(runnersB, 'r1');
    b.spawned[0]!.boot();
    expect((await run).source).toBe('booting');
    expect(b.spawned).toHaveLength(1);
    // A's standby is up and idle: a run takes it, and nothing new is started for that.
    expect((await runOn(runnersA, 'r2')).source).toBe('idle');
    expect(a.spawned).toHaveLength(1);
  });

  it("write a run's stop into its runner only while that run goes on, never into the runner's next run", async () => {
    const host = new FakeHost();
    const runners = pool(host);
    let stopFirst: () => void = () => {};
    const first = runOn(runners, 'r1', new Promise((resolve) => (stopFirst = resolve)));
    host.spawned[0]!.boot();
    const { runner } = await first;
    await settled(() => runner.state === 'idle');
    const written: string[] = [];
    host.spawned[0]!.input.on('data', (chunk: Buffer) => written.push(chunk.toString()));
    stopFirst();
    await tick();
    expect(written).toEqual([]);
  });
});
