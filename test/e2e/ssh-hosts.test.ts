// A mixed fleet: a daemon host and a host reached over SSH (Debian's sshd on a loopback port, on this
// machine's kernel) through a real SSH gateway, all through the REST API. Enrolment and the SSH
// failures, which load nothing into the kernel, are tested in apps/api/test/ssh-gateway.test.ts.
import { copyFileSync, chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CountsOutput, HostView, JobView, SshHostView } from '@fleettrace/contracts';
import { runInCgroup } from '@fleettrace/infra';
import { REPO_ROOT, freePort, generateSshKey, startSshGateway, startSshd, stopPid, stopSshd, waitFor, type RunningSshd } from '@fleettrace/infra/stack';
import { bpfBaseline, bpfCreatedSince } from '../support/bpf-leak-check';
import { startFleet, type Fleet } from '../support/fleet';
import { getResults, submitJob, waitForJobDone } from '../support/jobs';

const dir = mkdtempSync(join(tmpdir(), 'ft-ssh-e2e-'));
const keyDir = join(dir, 'keys');
let fleet: Fleet;
let gatewayPid: number | undefined;
let clientKey: string;
const sshds: RunningSshd[] = [];
/** The workload under a name of its own: the script counts its calls by comm, and nothing else has that name. */
const COMM = `ftssh${process.pid}`.slice(0, 15);
const WORKLOAD = join(dir, COMM);

beforeAll(async () => {
  mkdirSync(keyDir);
  clientKey = generateSshKey(join(keyDir, 'default')).publicKey;
  copyFileSync(join(REPO_ROOT, 'infra/build/workload'), WORKLOAD);
  chmodSync(WORKLOAD, 0o755);
  fleet = await startFleet('ssh', 1);
  gatewayPid = startSshGateway({ redisUrl: fleet.redisUrl, redisPrefix: fleet.redisPrefix, keyDir, logFile: join(fleet.logDir, 'ssh-gateway.log') }).pid;
}, 120_000);

afterAll(async () => {
  if (gatewayPid) await stopPid(gatewayPid);
  for (const sshd of sshds) await stopSshd(sshd.pid);
  await fleet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function sshd(hostKeyFile?: string, port?: number): Promise<RunningSshd> {
  const started = await startSshd({ baseDir: mkdtempSync(join(dir, 'sshd-')), port: port ?? (await freePort()), authorizedKeys: [clientKey], hostKeyFile });
  sshds.push(started);
  return started;
}

async function enrol(name: string, address: string, hostKey: string): Promise<void> {
  const { status, body } = await fleet.api.client.request('POST', '/v1/hosts/ssh', { name, address, user: 'root', labels: { via: 'ssh' }, hostKey });
  if (status !== 202) throw new Error(`enrolment answered ${status}: ${JSON.stringify(body)}`);
}

async function enrolment(name: string, until: (host: SshHostView) => boolean): Promise<SshHostView> {
  let host: SshHostView | undefined;
  await waitFor(`SSH host ${name}`, async () => {
    host = await fleet.api.client.get<SshHostView>(`/v1/hosts/ssh/${name}`);
    return until(host);
  }, 30_000, 200);
  return host!;
}

async function online(name: string): Promise<HostView> {
  let host: HostView | undefined;
  await waitFor(`host ${name} online`, async () => {
    host = (await fleet.api.client.hosts()).find((h) => h.id === name);
    return host?.online === true;
  }, 30_000, 200);
  return host!;
}

describe('hosts reached over SSH', () => {
  it('a pinned SSH host and a daemon host run one bpftrace job, and the results merge', async () => {
    const server = await sshd();
    await enrol('ssh-pinned', server.address, server.hostKeyFingerprint);
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
    await runInCgroup(daemon.cgroupPath, WORKLOAD, ['getpriority', '300']);
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
    await waitFor('no BPF object of the job left', async () => bpfCreatedSince(baseline).length === 0, 15_000);
  }, 150_000);
});
