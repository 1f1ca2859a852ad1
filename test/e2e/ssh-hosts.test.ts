// A mixed fleet: a daemon host and a host reached over SSH (Debian's sshd on a loopback port, on this
// machine's kernel) through a real SSH gateway, all through the REST API. Enrolment and the SSH
// failures, which load nothing into the kernel, are tested in apps/api/test/ssh-gateway.test.ts.
import { copyFileSync, chmodSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CountsOutput, EventPage, HostDetailView, HostView, JobView, SshHostView } from '@fleettrace/contracts';
import { runInCgroup } from '@fleettrace/infra';
import { waitFor } from '@fleettrace/infra/stack';
import { remoteRunnerBundle } from '@fleettrace/runner';
import { bpfBaseline, bpfObjectsSince, waitForNoBpfLeftByRun } from '../support/bpf-leak-check';
import type { Fleet } from '../support/fleet';
import { startSshFleet, type SshFleet } from '../support/loopback-ssh';
import { getResults, submitJob, waitForJobDone, waitForRuns } from '../support/jobs';

let sshFleet: SshFleet;
let fleet: Fleet;
/** The workload under a name of its own: the script counts its calls by comm, and nothing else has that name. */
const COMM = `ftssh${process.pid}`.slice(0, 15);
let workload: string;
/** Where the gateway installs its runner on a host, content-addressed (the loopback hosts are this machine). */
const RUNNER_DIR = `/var/lib/fleettrace/runner-${remoteRunnerBundle().sha256}`;

beforeAll(async () => {
  sshFleet = await startSshFleet('ssh', 1);
  fleet = sshFleet.fleet;
  workload = sshFleet.workload(COMM);
}, 120_000);

afterAll(async () => {
  await sshFleet?.stop();
});

const enrolment = (name: string, until: (host: SshHostView) => boolean): Promise<SshHostView> => sshFleet.sshHost(name, until);
const online = (name: string): Promise<HostView> => sshFleet.host(name, (h) => h?.online === true);

describe('hosts reached over SSH', () => {
  it('a pinned SSH host and a daemon host run one bpftrace job, and the results merge', async () => {
    const server = await sshFleet.sshds.start();
    await sshFleet.enrol('ssh-pinned', server);
    expect((await enrolment('ssh-pinned', (h) => h.state !== 'pending')).state).toBe('enrolled');
    const host = await online('ssh-pinned');
    expect(host).toMatchObject({ kind: 'ssh', labels: { via: 'ssh' }, tools: { bpftrace: true } });
    const daemon = fleet.hosts[0];
    expect((await fleet.api.client.hosts()).find((h) => h.id === daemon.hostId)?.kind).toBe('daemon');

    const baseline = bpfBaseline();
    const script = `tracepoint:syscalls:sys_enter_getpriority /comm == "${COMM}"/ { @calls[comm] = count(); }`;
    const job = await submitJob(fleet.api.client, { program: { kind: 'bpftrace', script }, durationSeconds: 6, targets: { hostIds: [daemon.hostId, 'ssh-pinned'] }, limits: { overheadBudgetPercent: 100 } });
    await waitFor('both runs running', async () => {
      const view = await fleet.api.client.get<JobView>(`/v1/jobs/${job.id}`);
      return view.runs.length === 2 && view.runs.every((r) => r.state === 'running');
    }, 40_000, 100);
    // In the daemon host's cgroup: the daemon sees these calls, and so does the SSH host (it traces its whole machine).
    await runInCgroup(daemon.cgroupPath, workload, ['getpriority', '300']);
    const done = await waitForJobDone(fleet.api.client, job.id, 60_000);
    expect(done.runs.map((r) => [r.hostId, r.state, r.error])).toEqual([
      [daemon.hostId, 'succeeded', null],
      ['ssh-pinned', 'succeeded', null],
    ]);
    const results = await getResults(fleet.api.client, job.id);
    for (const hostId of [daemon.hostId, 'ssh-pinned']) {
      const counts = results.hosts.find((h) => h.hostId === hostId)!.outputs.find((o) => o.kind === 'counts') as CountsOutput;
      expect(counts.entries).toEqual([{ key: { key: COMM }, value: 300 }]);
    }
    const merged = results.merged.find((o) => o.kind === 'counts') as CountsOutput;
    expect(merged.entries.find((e) => e.key.key === COMM)?.value).toBe(600);
    await waitForNoBpfLeftByRun(baseline, sshFleet.processes);
  }, 150_000);

  it('a catalog program over SSH (the uploaded runner, the host\'s node) gives the same outputs as on a daemon host', async () => {
    const server = await sshFleet.sshds.start();
    await sshFleet.enrol('ssh-catalog', server);
    await online('ssh-catalog');
    // The gateway installs the runner when it first reaches a host that can run it, before any run asks.
    await waitFor('the runner installed on the SSH host', async () => existsSync(join(RUNNER_DIR, '.complete')), 60_000, 200);
    const daemon = fleet.hosts[0];
    // Its capability report, made on the host by the runner as a daemon makes its own: the same kernel, the same verdicts.
    let ssh: HostDetailView | undefined;
    await waitFor('the SSH host\'s capability report', async () => (ssh = await fleet.api.client.get<HostDetailView>('/v1/hosts/ssh-catalog')).capabilities !== undefined, 60_000, 200);
    const onDaemon = await fleet.api.client.get<HostDetailView>(`/v1/hosts/${daemon.hostId}`);
    expect(ssh!.capabilities!.programs).toEqual(onDaemon.capabilities!.programs);
    expect(ssh!.programs).toEqual(onDaemon.programs);
    expect(Object.keys(ssh!.capabilities!.programs ?? {}).sort()).toEqual(ssh!.programs.map((p) => p.name));
    const baseline = bpfBaseline();
    const job = await submitJob(fleet.api.client, { program: 'syscount', params: { comm: COMM }, durationSeconds: 15, targets: { hostIds: [daemon.hostId, 'ssh-catalog'] } });
    await waitForRuns(fleet.api.client, job.id, ['running'], 60_000);
    await runInCgroup(daemon.cgroupPath, workload, ['getpriority', '300']);
    const done = await waitForJobDone(fleet.api.client, job.id, 60_000);
    expect(done.runs.map((r) => [r.hostId, r.state, r.error])).toEqual([
      [daemon.hostId, 'succeeded', null],
      ['ssh-catalog', 'succeeded', null],
    ]);
    const results = await getResults(fleet.api.client, job.id);
    const outputsOf = (hostId: string) => results.hosts.find((h) => h.hostId === hostId)!.outputs;
    const syscalls = outputsOf('ssh-catalog').find((o) => o.name === 'syscalls') as CountsOutput;
    expect(syscalls.entries.find((e) => e.key.syscall === 'getpriority')?.value).toBe(300);
    // The same process seen from both sides: the same syscalls, the same pid and comm.
    expect(outputsOf('ssh-catalog')).toEqual(outputsOf(daemon.hostId));
    // The runner's content-addressed directory on the host, complete (this host is this machine).
    expect(readFileSync(join(RUNNER_DIR, '.complete'), 'utf8').trim()).toBe(remoteRunnerBundle().sha256);
    await waitForNoBpfLeftByRun(baseline, sshFleet.processes);
  }, 150_000);

  it('a connection killed mid-run ends the run failed with the reason, keeps its events, and leaves no BPF object on the host', async () => {
    const server = await sshFleet.sshds.start();
    await sshFleet.enrol('ssh-cut', server);
    await online('ssh-cut');
    // Already there from the catalog test (or an earlier run of this one): this run must not upload it again.
    const uploaded = existsSync(join(RUNNER_DIR, '.complete')) ? statSync(join(RUNNER_DIR, '.complete')).mtimeMs : undefined;
    // Looked at on the host, by its own bpftool and /proc: whatever a process under its sshd holds.
    const baseline = bpfBaseline(sshFleet.sshds.commandsOn(server));
    const marker = join(sshFleet.sshds.dir, `ftcut${process.pid}`.slice(0, 15));
    copyFileSync('/bin/true', marker);
    chmodSync(marker, 0o755);
    const comm = marker.split('/').pop()!;
    const job = await submitJob(fleet.api.client, { program: 'execsnoop', params: { comm }, durationSeconds: 120, targets: { hostIds: ['ssh-cut'] } });
    await waitForRuns(fleet.api.client, job.id, ['running'], 60_000);
    await runInCgroup(fleet.hosts[0].cgroupPath, marker, ['before-the-cut']);
    const eventsOfJob = async () => (await fleet.api.client.get<EventPage>(`/v1/jobs/${job.id}/events`)).items.filter((e) => e.record.comm === comm);
    await waitFor('the exec event ingested', async () => (await eventsOfJob()).length === 1, 30_000, 200);

    const killed = killSshdSessions(server.pid);
    expect(killed).toBeGreaterThan(0);
    const done = await waitForJobDone(fleet.api.client, job.id, 60_000);
    expect(done.runs[0]).toMatchObject({ hostId: 'ssh-cut', state: 'failed', error: expect.stringMatching(new RegExp(`^the SSH connection to ${server.address} ended during the run`)) });
    const kept = await eventsOfJob();
    expect(kept.map((e) => [e.hostId, e.record.filename])).toEqual([['ssh-cut', marker]]);
    await waitForNoBpfLeftByRun(baseline, sshFleet.sshds.processes);
    // The bundle was already on this host: it was reused, not uploaded again.
    if (uploaded !== undefined) expect(statSync(join(RUNNER_DIR, '.complete')).mtimeMs).toBe(uploaded);
  }, 150_000);

  it('a runner stopped on its host (SIGSTOP) is killed there at its deadline: the run ends timed_out and leaves nothing', async () => {
    const server = await sshFleet.sshds.start();
    await sshFleet.enrol('ssh-stop', server);
    await online('ssh-stop');
    const baseline = bpfBaseline();
    const job = await submitJob(fleet.api.client, { program: 'syscount', params: { comm: COMM }, durationSeconds: 3, targets: { hostIds: ['ssh-stop'] } });
    await waitForRuns(fleet.api.client, job.id, ['running'], 60_000);
    // The run's runner on the host: the one process holding the programs loaded since the job began.
    const holders = [...new Set(bpfObjectsSince(baseline, sshFleet.sshds.processes).filter((o) => o.kind === 'prog').flatMap((o) => o.holders))];
    expect(holders).toHaveLength(1);
    const runner = holders[0]!;
    expect(readFileSync(`/proc/${runner}/cmdline`, 'utf8').split('\0')).toContain(`${RUNNER_DIR}/runner.mjs`);
    // Stopped, it hears neither the stop at its duration nor the end of its channel's input.
    process.kill(runner, 'SIGSTOP');
    const done = await waitForJobDone(fleet.api.client, job.id, 60_000);
    expect(done.runs[0]).toMatchObject({ hostId: 'ssh-stop', state: 'timed_out' });
    // The gateway killed its process group on the host, over a second channel: gone, and its programs with it.
    await waitFor('the stopped runner killed on its host', async () => !existsSync(`/proc/${runner}`), 20_000, 100);
    await waitForNoBpfLeftByRun(baseline, sshFleet.sshds.processes);
  }, 150_000);
});

/** SIGKILLs every sshd process under the listener `pid` (its connections), not the listener itself: a connection cut off. */
function killSshdSessions(pid: number): number {
  const children = new Map<number, number[]>();
  const comms = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      comms.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close));
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const sessions: number[] = [];
  const walk = (parent: number): void => {
    for (const child of children.get(parent) ?? []) {
      if (comms.get(child)?.startsWith('sshd')) sessions.push(child);
      walk(child);
    }
  };
  walk(pid);
  for (const session of sessions) process.kill(session, 'SIGKILL');
  return sessions.length;
}
