// A fleet of two kernels and both kinds of host, through the REST API: a daemon host on this machine's
// kernel (6.18), Debian's sshd on a loopback port (this kernel, over SSH) and Debian's 6.1 kernel in a
// QEMU guest running sshd (infra/guest/ssh-guest.ts), reached over SSH through one restricted hostfwd.
// Jobs of each kind run across it (a catalog and a bpftrace tracepoint job on all three hosts); a
// kprobe program runs on the guest and is `unsupported` on this kernel, which has no kprobes; every
// catalog program runs or is cleanly `unsupported` on each kernel.
// After each run, bpftool in the guest (over SSH) lists nothing of ours.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminalRunState, kernelAtLeast, type CountsOutput, type CreateJobInput, type JobResultsView, type HostDetailView, type JobView, type RunState } from '@fleettrace/contracts';
import { runInCgroup } from '@fleettrace/infra';
import { guestUnavailableReason, startSshGuest, stopSshGuest, type RunningSshGuest } from '@fleettrace/infra/guest';
import { REPO_ROOT, StopWaiting, freePort, generateSshKey, startSshGateway, startSshd, stopPid, stopSshd, waitFor, type RunningSshd } from '@fleettrace/infra/stack';
import { catalog } from '@fleettrace/programs';
import { EVERY_PROCESS, bpfBaseline, bpfObjectsSince, hostOverSsh, waitForNoBpfLeftByRun, type BpfBaseline, type HostCommand } from '../support/bpf-leak-check';
import { startFleet, type Fleet } from '../support/fleet';
import { getResults, submitJob, waitForJobDone } from '../support/jobs';

const dir = mkdtempSync(join(tmpdir(), 'ft-mixed-e2e-'));
const keyDir = join(dir, 'keys');
const clientKeyFile = join(keyDir, 'default');
/** The workload under a name of its own, on this machine and copied into the guest's /tmp. */
const COMM = `ftmix${process.pid}`.slice(0, 15);
const WORKLOAD = join(dir, COMM);
const CALLS = 300;
const LOOPBACK = 'mixed-loopback';
const GUEST = 'mixed-guest61';
// The guest ends itself after this long even if this file's runner dies without stopping it.
const GUEST_LIFETIME_S = 1_500;

let unavailable: string | undefined;
let fleet: Fleet;
let daemonHost: string;
let gatewayPid: number | undefined;
let loopback: RunningSshd | undefined;
let guest: RunningSshGuest | undefined;
/** A command in the guest over SSH, as root with the test's key (bpftool there for the leak checks). */
let inGuest: HostCommand;

beforeAll(async () => {
  unavailable = await guestUnavailableReason();
  if (unavailable) return;
  mkdirSync(keyDir);
  const clientKey = generateSshKey(clientKeyFile).publicKey;
  copyFileSync(join(REPO_ROOT, 'infra/build/workload'), WORKLOAD);
  chmodSync(WORKLOAD, 0o755);
  // The guest boots (~1 min of emulation on a busy machine) while the rest of the fleet starts.
  const guestStarted = freePort().then((port) => startSshGuest({ baseDir: join(dir, 'guest'), port, authorizedKeys: [clientKey], lifetimeSeconds: GUEST_LIFETIME_S }));
  guestStarted.catch(() => undefined);
  fleet = await startFleet('mixed', 1);
  daemonHost = fleet.hosts[0].hostId;
  gatewayPid = startSshGateway({ redisUrl: fleet.redisUrl, redisPrefix: fleet.redisPrefix, keyDir, logFile: join(fleet.logDir, 'ssh-gateway.log') }).pid;
  loopback = await startSshd({ baseDir: join(dir, 'sshd'), port: await freePort(), authorizedKeys: [clientKey] });
  guest = await guestStarted;
  console.log(`mixed-fleet: guest ${guest.kernelRelease} booted to sshd in ${guest.bootMs} ms`);
  inGuest = hostOverSsh({ port: guest.port, keyFile: clientKeyFile });
  // Enrolled by their host keys' fingerprints, read from the key files: never trust on first use.
  await enrol(LOOPBACK, loopback.address, loopback.hostKeyFingerprint);
  await enrol(GUEST, guest.address, guest.hostKeyFingerprint);
  // Online with a capability report made on the host by the uploaded runner: what planning judges by.
  for (const id of [LOOPBACK, GUEST]) {
    await waitFor(`${id} online with its capability report`, async () => {
      const hosts = await fleet.api.client.hosts();
      if (hosts.find((h) => h.id === id)?.online !== true) return false;
      return (await fleet.api.client.get<HostDetailView>(`/v1/hosts/${id}`)).capabilities !== undefined;
    }, 240_000, 500);
  }
  inGuest(['sh', '-c', `cat > /tmp/${COMM} && chmod 755 /tmp/${COMM}`], readFileSync(WORKLOAD));
}, 420_000);

afterAll(async () => {
  if (gatewayPid) await stopPid(gatewayPid);
  if (loopback) await stopSshd(loopback.pid);
  if (guest) await stopSshGuest(guest.pid);
  await fleet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function enrol(name: string, address: string, hostKey: string): Promise<void> {
  const { status, body } = await fleet.api.client.request('POST', '/v1/hosts/ssh', { name, address, user: 'root', labels: { via: 'ssh' }, hostKey });
  if (status !== 202) throw new Error(`enrolment of ${name} answered ${status}: ${JSON.stringify(body)}`);
}


/**
 * Runs the workload where each host sees it once: in the daemon host's cgroup, which the loopback
 * host sees too (it traces this whole machine), and in the guest. Each machine's share goes as soon
 * as every run that sees it traces: the guest's run starts tens of seconds after this machine's.
 */
async function provoke(job: string, hosts: string[]): Promise<void> {
  const pending = new Set(hosts);
  const here = hosts.filter((h) => h !== GUEST);
  let hereDone = here.length === 0;
  await waitFor(`runs of job ${job} tracing before the workload`, async () => {
    const view = await fleet.api.client.get<JobView>(`/v1/jobs/${job}`);
    for (const run of view.runs) {
      if (!pending.has(run.hostId)) continue;
      if (isTerminalRunState(run.state)) throw new StopWaiting(`run on ${run.hostId} ended ${run.state} before the workload: ${run.error ?? ''}`);
      if (run.state !== 'running') continue;
      pending.delete(run.hostId);
      if (run.hostId === GUEST) inGuest([`/tmp/${COMM}`, 'getpriority', String(CALLS)]);
    }
    if (!hereDone && here.every((h) => !pending.has(h))) {
      hereDone = true;
      await runInCgroup(fleet.hosts[0].cgroupPath, WORKLOAD, ['getpriority', String(CALLS)]);
    }
    return pending.size === 0;
  }, 180_000, 200);
}

function runsOf(view: JobView): Array<[string, RunState, string | null]> {
  return view.runs.map((r) => [r.hostId, r.state, r.error ?? null] as [string, RunState, string | null]).sort((a, b) => a[0].localeCompare(b[0]));
}

/** The fleet's three hosts: this machine's daemon (known once the fleet is up), the loopback sshd and the guest. */
function allThree(): string[] {
  return [daemonHost, LOOPBACK, GUEST];
}

/** Runs a job on all three hosts with this machine's and the guest's workload, expects every run to succeed, and returns its results. */
async function runOnAllThree(request: Partial<CreateJobInput>): Promise<JobResultsView> {
  const hosts = allThree();
  const job = await submitJob(fleet.api.client, { ...request, durationSeconds: 30, targets: { hostIds: hosts } });
  // A run is `running` only once its programs are attached: the workload on it is counted whole.
  await provoke(job.id, hosts);
  const done = await waitForJobDone(fleet.api.client, job.id, 120_000);
  expect(runsOf(done)).toEqual([...hosts].sort().map((h) => [h, 'succeeded', null]));
  return getResults(fleet.api.client, job.id);
}

async function expectNothingLeftInGuest(baseline: BpfBaseline): Promise<void> {
  // The guest runs nothing but this test's: every process in it counts.
  await waitForNoBpfLeftByRun(baseline, EVERY_PROCESS, 30_000);
}

describe.runIf(process.arch === 'x64')('a mixed fleet: a daemon host, a loopback SSH host and the 6.1 guest over SSH', () => {
  it('the guest is Debian\'s 6.1 kernel, enrolled by its own host key, with the node the runner needs, and reaches nothing but its forward', (ctx) => {
    if (unavailable) ctx.skip(`no guest kernel here: ${unavailable}`);
    expect(inGuest(['uname', '-r']).trim()).toBe(guest!.kernelRelease);
    expect(guest!.kernelRelease).toMatch(/^6\.1\./);
    expect(Number(/^v(\d+)\./.exec(inGuest(['node', '--version']).trim())?.[1])).toBeGreaterThanOrEqual(20);
    // restrict=on: a connection from the guest to this machine's sshd (through QEMU's gateway) goes nowhere.
    const reach = inGuest(['sh', '-c', `timeout 5 bash -c '</dev/tcp/10.0.2.2/${loopback!.port}' && echo reached || echo refused`]).trim();
    expect(reach).toBe('refused');
  });

  it('a catalog tracepoint job (syscount) runs on all three hosts with the same outputs', async (ctx) => {
    if (unavailable) ctx.skip(`no guest kernel here: ${unavailable}`);
    const baseline = bpfBaseline(inGuest);
    const hosts = allThree();
    const results = await runOnAllThree({ program: 'syscount', params: { comm: COMM } });
    for (const hostId of hosts) {
      const syscalls = results.hosts.find((h) => h.hostId === hostId)!.outputs.find((o) => o.name === 'syscalls') as CountsOutput;
      expect(syscalls.entries.find((e) => e.key.syscall === 'getpriority')?.value, hostId).toBe(CALLS);
    }
    const merged = results.merged.find((o) => o.name === 'syscalls') as CountsOutput;
    expect(merged.entries.find((e) => e.key.syscall === 'getpriority')?.value).toBe(3 * CALLS);
    await expectNothingLeftInGuest(baseline);
  }, 240_000);

  it('a bpftrace tracepoint job runs on all three hosts, each counting its own calls, merged', async (ctx) => {
    if (unavailable) ctx.skip(`no guest kernel here: ${unavailable}`);
    const baseline = bpfBaseline(inGuest);
    const script = `tracepoint:syscalls:sys_enter_getpriority /comm == "${COMM}"/ { @calls[comm] = count(); }`;
    const hosts = allThree();
    const results = await runOnAllThree({ program: { kind: 'bpftrace', script }, limits: { overheadBudgetPercent: 100 } });
    for (const hostId of hosts) {
      const calls = results.hosts.find((h) => h.hostId === hostId)!.outputs.find((o) => o.kind === 'counts') as CountsOutput;
      expect(calls.entries, hostId).toMatchObject([{ key: { key: COMM }, value: CALLS }]);
    }
    const merged = results.merged.find((o) => o.kind === 'counts') as CountsOutput;
    expect(merged.entries).toMatchObject([{ key: { key: COMM }, value: 3 * CALLS, byHost: { [daemonHost]: CALLS, [LOOPBACK]: CALLS, [GUEST]: CALLS } }]);
    await expectNothingLeftInGuest(baseline);
  }, 240_000);

  it('a kprobe program runs on the guest and is unsupported on this kernel, with the reason its probe gave', async (ctx) => {
    if (unavailable) ctx.skip(`no guest kernel here: ${unavailable}`);
    const baseline = bpfBaseline(inGuest);
    const script = `kprobe:__x64_sys_getpriority /comm == "${COMM}"/ { @calls[comm] = count(); }`;
    const hosts = allThree();
    const job = await submitJob(fleet.api.client, { program: { kind: 'bpftrace', script }, durationSeconds: 30, targets: { hostIds: hosts }, limits: { overheadBudgetPercent: 100 } });
    await provoke(job.id, [GUEST]);
    const done = await waitForJobDone(fleet.api.client, job.id, 120_000);
    const reasonOn = async (hostId: string): Promise<string> => {
      const host = await fleet.api.client.get<HostDetailView>(`/v1/hosts/${hostId}`);
      const probe = host.capabilities!.attachTypes.kprobe;
      expect(probe.supported).toBe(false);
      expect(probe.reason).toBeTruthy();
      return `host ${hostId} cannot attach kprobe (${probe.reason}) on kernel ${host.capabilities!.kernelRelease}`;
    };
    expect(runsOf(done)).toEqual(
      [
        [daemonHost, 'unsupported', await reasonOn(daemonHost)],
        [LOOPBACK, 'unsupported', await reasonOn(LOOPBACK)],
        [GUEST, 'succeeded', null],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    console.log(`mixed-fleet: kprobe job on this kernel: ${done.runs.find((r) => r.hostId === daemonHost)?.error}`);
    const results = await getResults(fleet.api.client, job.id);
    // The merge covers the host that ran it: the others have no outputs.
    expect(results.hosts.filter((h) => h.outputs.length > 0).map((h) => h.hostId)).toEqual([GUEST]);
    const merged = results.merged.find((o) => o.kind === 'counts') as CountsOutput;
    // Each merged entry also says which hosts it came from (byHost).
    expect(merged.entries).toMatchObject([{ key: { key: COMM }, value: CALLS, byHost: { [GUEST]: CALLS } }]);
    await expectNothingLeftInGuest(baseline);
  }, 240_000);

  it('a runner stopped in the guest (SIGSTOP) is killed there at its deadline: the run ends timed_out and leaves nothing', async (ctx) => {
    if (unavailable) ctx.skip(`no guest kernel here: ${unavailable}`);
    const baseline = bpfBaseline(inGuest);
    // Long enough that the runner is still tracing when it is stopped: finding it takes bpftool in the
    // emulated guest a few seconds.
    const job = await submitJob(fleet.api.client, { program: 'syscount', params: { comm: COMM }, durationSeconds: 15, targets: { hostIds: [GUEST] } });
    await waitFor(`the run of job ${job.id} tracing in the guest`, async () => {
      const run = (await fleet.api.client.get<JobView>(`/v1/jobs/${job.id}`)).runs[0];
      if (isTerminalRunState(run.state)) throw new StopWaiting(`the run ended ${run.state} before it could be stopped: ${run.error ?? ''}`);
      return run.state === 'running';
    }, 180_000, 200);
    // The run's runner in the guest: the one process holding the programs loaded since the job began.
    const holders = [...new Set(bpfObjectsSince(baseline, EVERY_PROCESS).filter((o) => o.kind === 'prog').flatMap((o) => o.holders))];
    expect(holders).toHaveLength(1);
    const runner = holders[0]!;
    expect(inGuest(['cat', `/proc/${runner}/cmdline`]).split('\0')).toContainEqual(expect.stringMatching(/^\/var\/lib\/fleettrace\/runner-[0-9a-f]{64}\/runner\.mjs$/));
    // Stopped, it hears neither the stop at its duration nor the end of its channel's input.
    inGuest(['kill', '-STOP', String(runner)]);
    const done = await waitForJobDone(fleet.api.client, job.id, 180_000);
    expect(done.runs[0]).toMatchObject({ hostId: GUEST, state: 'timed_out' });
    // The gateway killed its process group in the guest, over a second channel: gone, and its programs with it.
    await waitFor('the stopped runner killed in the guest', async () => inGuest(['sh', '-c', 'if [ -e "/proc/$1" ]; then echo present; else echo gone; fi', 'fleettrace-check', String(runner)]).trim() === 'gone', 30_000, 250);
    await expectNothingLeftInGuest(baseline);
  }, 300_000);

  it('every catalog program runs, or is cleanly unsupported by the kernel it needs, on 6.18 (daemon) and 6.1 (guest over SSH)', async (ctx) => {
    if (unavailable) ctx.skip(`no guest kernel here: ${unavailable}`);
    const started = Date.now();
    const baseline = bpfBaseline(inGuest);
    const hosts = [daemonHost, GUEST];
    const guestKernel = guest!.kernelRelease;
    const matrix: Record<string, Record<string, string>> = {};
    // Two at a time: the gateway runs two at once on a host, and the guest's one emulated CPU is the bottleneck.
    const names = Object.keys(catalog);
    const queue = [...names];
    const runOne = async (name: string): Promise<void> => {
      const job = await submitJob(fleet.api.client, { program: name, params: MATRIX_PARAMS[name] ?? {}, durationSeconds: 2, targets: { hostIds: hosts } });
      const done = await waitForJobDone(fleet.api.client, job.id, 180_000);
      matrix[name] = Object.fromEntries(done.runs.map((r) => [r.hostId, r.state === 'succeeded' ? 'runs' : `${r.state}: ${r.error}`]));
    };
    await Promise.all([0, 1].map(async () => {
      for (let name = queue.shift(); name; name = queue.shift()) await runOne(name);
    }));
    console.log(`mixed-fleet: catalog matrix in ${Date.now() - started} ms:\n${names.map((n) => `  ${n.padEnd(12)} 6.18: ${matrix[n][daemonHost]} | ${guestKernel}: ${matrix[n][GUEST]}`).join('\n')}`);
    for (const name of names) {
      // Every catalog program runs on this machine's kernel (apps/node-daemon/test/capability-report.test.ts).
      expect(matrix[name][daemonHost], name).toBe('runs');
      // On 6.1: it runs when the guest meets its declared minimum kernel, else it is unsupported saying so.
      const minKernel = catalog[name]!.requires.minKernel;
      if (minKernel === undefined || kernelAtLeast(guestKernel, minKernel)) {
        expect(matrix[name][GUEST], name).toBe('runs');
      } else {
        expect(matrix[name][GUEST], name).toMatch(new RegExp(`^unsupported: host ${GUEST} .*has kernel ${guestKernel.replace(/\./g, '\\.')} < ${minKernel.replace(/\./g, '\\.')} required`));
      }
    }
    await expectNothingLeftInGuest(baseline);
  }, 600_000);
});

/** Parameters for the programs that need some: a target both kernels have (the guest sees this machine's files). */
const MATRIX_PARAMS: Record<string, Record<string, unknown>> = {
  funccount: { binary: '/bin/bash', function: 'readline' },
  funclatency: { binary: '/bin/bash', function: 'readline' },
  xdpcount: { interface: 'lo' },
};

