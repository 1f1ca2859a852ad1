// The BPF leak check of the SSH tests (test/support/bpf-leak-check.ts), on a loopback sshd like
// theirs. The loopback host is this machine, so its bpftool lists every BPF object here: what the
// check counts is what processes under the test's sshd hold, and what no process holds. A program
// only a process outside the run holds (another checkout's `local run` on a shared machine) is
// not the run's, and must not fail its check.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopPid, type RunningSshd } from '@fleettrace/infra/stack';
import { bpfBaseline, bpfLeftByRun, bpfObjectsSince, sshArgv, thisMachine, waitForNoBpfLeftByRun, type HostCommand } from '@fleettrace/testing/bpf-leak-check';
import { loopbackSshds } from '@fleettrace/testing/loopback-ssh';

const sshds = loopbackSshds('leakcheck');
let sshd: RunningSshd;
let onHost: HostCommand;
const started: ChildProcess[] = [];
const PIN = `/sys/fs/bpf/ft-leakcheck-${process.pid}`;
/** One program and one map, attached to a syscall nothing here makes: held until bpftrace ends. */
const SCRIPT = 'tracepoint:syscalls:sys_enter_getppid /pid == 1/ { @calls = count(); }';

beforeAll(async () => {
  sshd = await sshds.start();
  onHost = sshds.commandsOn(sshd);
});

afterAll(async () => {
  for (const child of started) if (child.pid) await stopPid(child.pid);
  rmSync(PIN, { force: true });
  await sshds.stop();
});

/**
 * Starts `argv`, whose first stdout line is the pid of the bpftrace it becomes; resolves with that
 * pid once bpftrace says it attaches (its program and map are loaded by then). Unbuffered (-B
 * none): into a pipe, bpftrace's output otherwise waits in its buffer until it exits.
 */
async function bpftrace(argv: string[]): Promise<number> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const pid = Number((await lines.next()).value);
  for (let line = await lines.next(); !line.done; line = await lines.next()) {
    if (/^Attaching 1 probe/.test(line.value)) return pid;
  }
  throw new Error(`${argv.join(' ')} ended before attaching`);
}

describe('the BPF leak check of a run on an SSH host', () => {
  it('counts what a process under the host\'s sshd holds, and not what an unrelated process holds', async () => {
    const baseline = bpfBaseline(onHost);
    // Started by this test, not through the host's sshd: a process of this machine outside the run.
    const unrelated = await bpftrace(['sh', '-c', 'echo $$; exec bpftrace -B none -e "$0"', SCRIPT]);
    const ofRun = await bpftrace(sshArgv(sshds.targetOf(sshd), ['sh', '-c', 'echo $$; exec bpftrace -B none -e "$0"', SCRIPT]));

    const objects = bpfObjectsSince(baseline, sshds.processes);
    const heldBy = (pid: number) => objects.filter((o) => o.holders.includes(pid));
    // Both are seen, each with its holder: the unrelated one is left out because of who holds it.
    for (const pid of [unrelated, ofRun]) expect(heldBy(pid).map((o) => o.kind).sort(), `objects held by ${pid}`).toEqual(expect.arrayContaining(['map', 'prog']));
    expect(heldBy(unrelated).filter((o) => o.ofRun)).toEqual([]);
    expect(heldBy(ofRun).every((o) => o.ofRun)).toBe(true);
    const left = bpfLeftByRun(baseline, sshds.processes);
    expect(left.filter((line) => line.endsWith(`held by pid ${ofRun}`)).length).toBeGreaterThanOrEqual(2);
    expect(left.join('\n')).not.toContain(`pid ${unrelated}`);

    // The run's bpftrace ends: the check passes, while the unrelated one still holds its program.
    await stopPid(ofRun, 'SIGINT');
    await waitForNoBpfLeftByRun(baseline, sshds.processes);
    expect(bpfObjectsSince(baseline, sshds.processes).filter((o) => o.holders.includes(unrelated) && o.kind === 'prog')).toHaveLength(1);
    await stopPid(unrelated, 'SIGINT');
  }, 120_000);

  it('counts what no process holds (a pinned map), whoever made it', async () => {
    const baseline = bpfBaseline(onHost);
    // Made outside the run, by a bpftool that has exited since: only the pin keeps it.
    thisMachine(['bpftool', 'map', 'create', PIN, 'type', 'array', 'key', '4', 'value', '4', 'entries', '1', 'name', 'ft_leakcheck']);
    expect(bpfLeftByRun(baseline, sshds.processes)).toContainEqual(expect.stringMatching(/^map \d+ \(ft_leakcheck\) held by no process$/));
    rmSync(PIN);
    await waitForNoBpfLeftByRun(baseline, sshds.processes);
  }, 120_000);
});
