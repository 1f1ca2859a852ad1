// Bootstrap onto a host run by systemd: the Debian 6.1 guest with this machine's systemd (252) as its
// PID 1, reached over SSH through QEMU user networking (restrict=on). The SSH gateway installs the
// daemon with the hardened unit from infra/systemd (ssh-bootstrap.test.ts covers the fallback for
// hosts without systemd, as this machine is). The daemon in the guest reaches this machine's API
// and Redis through two QEMU guest forwards, the guest's only way out: the API hands out those
// addresses (FLEETTRACE_HOST_API_URL, FLEETTRACE_HOST_REDIS_URL) as a deployment behind NAT would.
import { copyFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminalRunState, type CountsOutput, type HostDetailView, type JobView, type SshHostView } from '@fleettrace/contracts';
import { guestUnavailableReason, startSshGuest, stopSshGuest, type RunningSshGuest } from '@fleettrace/infra/guest';
import { REPO_ROOT, StopWaiting, freePort, generateSshKey, startSshGateway, stopPid, waitFor } from '@fleettrace/infra/stack';
import { bpfBaseline, hostOverSsh, waitForNoBpfLeftByRun, type HostCommand, type RunProcesses } from '../support/bpf-leak-check';
import { startFleet, type Fleet } from '../support/fleet';
import { getResults, submitJob, waitForJobDone } from '../support/jobs';

const dir = mkdtempSync(join(tmpdir(), 'ft-sysd-e2e-'));
const keyDir = join(dir, 'keys');
const clientKeyFile = join(keyDir, 'default');
const HOST = 'sysd-guest61';
const COMM = `ftsysd${process.pid}`.slice(0, 15);
const CALLS = 250;
const GUEST_LIFETIME_S = 900;
/** Where the guest reaches this machine's API and Redis: addresses of its user network, forwarded. */
const GUEST_API = { guestAddress: '10.0.2.100', guestPort: 80 };
const GUEST_REDIS = { guestAddress: '10.0.2.101', guestPort: 6379 };
const HOST_DIR = `/var/lib/fleettrace/daemon-${HOST}`;
const UNIT = 'fleettrace-daemon.service';
/**
 * What a leak check counts as ours in the guest: every service's processes (the daemon's unit and
 * its runners, sshd and its sessions), but not systemd itself, whose own cgroup programs (device
 * and firewall filters, sd_*) it attaches for units as it starts them.
 */
const GUEST_SERVICES: RunProcesses = { cgroups: ['/system.slice'] };

let unavailable: string | undefined;
let fleet: Fleet;
let gatewayPid: number | undefined;
let guest: RunningSshGuest | undefined;
/** A command in the guest over SSH, as root with the test's key (bpftool there for the leak checks). */
let inGuest: HostCommand;

beforeAll(async () => {
  unavailable = await guestUnavailableReason();
  if (unavailable) return;
  mkdirSync(keyDir);
  const clientKey = generateSshKey(clientKeyFile).publicKey;
  fleet = await startFleet('sysd', 0, {
    apiEnv: {
      FLEETTRACE_HOST_API_URL: `http://${GUEST_API.guestAddress}:${GUEST_API.guestPort}`,
      FLEETTRACE_HOST_REDIS_URL: `redis://${GUEST_REDIS.guestAddress}:${GUEST_REDIS.guestPort}`,
    },
  });
  gatewayPid = startSshGateway({
    redisUrl: fleet.redisUrl,
    redisPrefix: fleet.redisPrefix,
    keyDir,
    logFile: join(fleet.logDir, 'ssh-gateway.log'),
    // The guest is emulated: its node starts the daemon in tens of seconds, not one.
    env: { FLEETTRACE_DAEMON_REGISTER_TIMEOUT_SECONDS: '240' },
  }).pid;
  guest = await startSshGuest({
    baseDir: join(dir, 'guest'),
    port: await freePort(),
    authorizedKeys: [clientKey],
    lifetimeSeconds: GUEST_LIFETIME_S,
    init: 'systemd',
    memoryMb: 1536,
    forwardsToHost: [
      { ...GUEST_API, hostPort: Number(new URL(fleet.api.url).port) },
      { ...GUEST_REDIS, hostPort: Number(new URL(fleet.redisUrl).port) },
    ],
  });
  console.log(`ssh-bootstrap-systemd: guest ${guest.kernelRelease} booted systemd to sshd in ${guest.bootMs} ms`);
  inGuest = hostOverSsh({ port: guest.port, keyFile: clientKeyFile });
  const workload = join(dir, COMM);
  copyFileSync(join(REPO_ROOT, 'infra/build/workload'), workload);
  chmodSync(workload, 0o755);
  // In root's home (a tmpfs of the guest's own): the daemon's unit starts systemd's early boot, which
  // mounts a fresh /tmp.
  inGuest(['sh', '-c', `cat > /root/${COMM} && chmod 755 /root/${COMM}`], readFileSync(workload));
  const { status, body } = await fleet.api.client.request('POST', '/v1/hosts/ssh', { name: HOST, address: guest.address, user: 'root', labels: { via: 'ssh', init: 'systemd' }, hostKey: guest.hostKeyFingerprint });
  if (status !== 202) throw new Error(`enrolment answered ${status}: ${JSON.stringify(body)}`);
  await sshHost((h) => h.state === 'enrolled', 240_000);
}, 420_000);

afterAll(async () => {
  if (gatewayPid) await stopPid(gatewayPid);
  if (guest) await stopSshGuest(guest.pid);
  await fleet?.stop();
  rmSync(dir, { recursive: true, force: true });
});


async function sshHost(until: (host: SshHostView) => boolean, timeoutMs: number): Promise<SshHostView> {
  let host: SshHostView | undefined;
  await waitFor(`SSH host ${HOST}`, async () => until((host = await fleet.api.client.get<SshHostView>(`/v1/hosts/ssh/${HOST}`))), timeoutMs, 500);
  return host!;
}

/** The bounding-set mask of capabilities by name, their numbers from linux/capability.h (linux-libc-dev: BPF compiles need it too). */
function capabilityMask(names: readonly string[]): bigint {
  const header = readFileSync('/usr/include/linux/capability.h', 'utf8');
  return names.reduce((mask, name) => {
    const number = new RegExp(`^#define ${name}\\s+(\\d+)$`, 'm').exec(header)?.[1];
    if (number === undefined) throw new Error(`${name} is not in linux/capability.h`);
    return mask | (1n << BigInt(number));
  }, 0n);
}

/** `systemctl show` of the daemon's unit: the properties asked for. */
function unitProperties(...names: string[]): Record<string, string> {
  const out = inGuest(['systemctl', 'show', UNIT, ...names.map((n) => `--property=${n}`)]);
  return Object.fromEntries(out.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

describe.runIf(process.arch === 'x64')('bootstrapping a daemon over SSH onto a systemd host (the 6.1 guest)', () => {
  it('installs the hardened unit, whose daemon enrols, runs a kprobe job there with its capabilities bounded, and is removed by uninstall', async (ctx) => {
    if (unavailable) ctx.skip(`no guest kernel here: ${unavailable}`);
    expect(inGuest(['ps', '-p', '1', '-o', 'comm=']).trim()).toBe('systemd');
    const baseline = bpfBaseline(inGuest);

    const started = Date.now();
    const { status } = await fleet.api.client.request('POST', `/v1/hosts/ssh/${HOST}/bootstrap`);
    expect(status).toBe(202);
    const registered = await sshHost((h) => {
      if (h.daemon?.state === 'failed') throw new StopWaiting(`bootstrap failed: ${h.daemon.error}\n${fleet.logs()}`);
      return h.daemon?.state === 'registered';
    }, 300_000);
    console.log(`ssh-bootstrap-systemd: daemon registered ${Date.now() - started} ms after the bootstrap request`);
    expect(registered.daemon).toMatchObject({ state: 'registered', mode: 'systemd', error: null });

    // systemd runs it, from the unit of infra/systemd as shipped in the daemon bundle, with the
    // gateway's drop-in; its main process is the PID the gateway reported.
    const unit = unitProperties('ActiveState', 'MainPID', 'UnitFileState', 'FragmentPath', 'DropInPaths', 'NoNewPrivileges', 'ProtectSystem', 'CapabilityBoundingSet');
    expect(unit).toMatchObject({ ActiveState: 'active', UnitFileState: 'enabled', FragmentPath: `/etc/systemd/system/${UNIT}`, NoNewPrivileges: 'yes', ProtectSystem: 'strict' });
    expect(unit.DropInPaths).toBe(`/etc/systemd/system/${UNIT}.d/bootstrap.conf`);
    expect(Number(unit.MainPID)).toBe(registered.daemon!.pid);
    const shipped = readFileSync(join(REPO_ROOT, 'infra/systemd/fleettrace-daemon.service'), 'utf8');
    expect(inGuest(['cat', `/etc/systemd/system/${UNIT}`])).toBe(shipped);
    // The kernel enforces what the unit says: the bounding set holds the unit's capabilities and no
    // others, and no_new_privs is set.
    const status1 = inGuest(['cat', `/proc/${unit.MainPID}/status`]);
    expect(/^NoNewPrivs:\s+1$/m.test(status1)).toBe(true);
    const bounding = BigInt(`0x${/^CapBnd:\s+([0-9a-f]+)$/m.exec(status1)![1]}`);
    const unitCapabilities = /^CapabilityBoundingSet=(.+)$/m.exec(shipped)![1].trim().split(/\s+/);
    expect(unitCapabilities).toEqual(expect.arrayContaining(['CAP_BPF', 'CAP_PERFMON']));
    expect(bounding).toBe(capabilityMask(unitCapabilities));
    // Spent at enrolment, the token is not kept on the host.
    expect(inGuest(['cat', `${HOST_DIR}/daemon.env`])).not.toContain('FLEETTRACE_ENROL_TOKEN');
    const online = await fleet.api.client.get<HostDetailView>(`/v1/hosts/${HOST}`);
    expect(online).toMatchObject({ kind: 'daemon', online: true });
    expect(online.capabilities!.kernelRelease).toBe(guest!.kernelRelease);

    // A kprobe job (6.1 attaches kprobes; this machine's kernel cannot) runs on the bootstrapped daemon.
    const script = `kprobe:__x64_sys_getpriority /comm == "${COMM}"/ { @calls[comm] = count(); }`;
    const job = await submitJob(fleet.api.client, { program: { kind: 'bpftrace', script }, durationSeconds: 30, targets: { hostIds: [HOST] }, limits: { overheadBudgetPercent: 100 } });
    await waitFor(`the run of job ${job.id} tracing`, async () => {
      const run = (await fleet.api.client.get<JobView>(`/v1/jobs/${job.id}`)).runs[0];
      if (isTerminalRunState(run.state)) throw new StopWaiting(`the run ended ${run.state} before the workload: ${run.error ?? ''}`);
      return run.state === 'running';
    }, 180_000, 250);
    inGuest([`/root/${COMM}`, 'getpriority', String(CALLS)]);
    const done = await waitForJobDone(fleet.api.client, job.id, 120_000);
    expect(done.runs.map((r) => [r.hostId, r.state, r.error ?? null])).toEqual([[HOST, 'succeeded', null]]);
    const counts = (await getResults(fleet.api.client, job.id)).hosts[0].outputs.find((o) => o.kind === 'counts') as CountsOutput;
    expect(counts.entries).toMatchObject([{ key: { key: COMM }, value: CALLS }]);
    // The daemon's own log, in the journal of the unit: it ran that run.
    expect(inGuest(['journalctl', '-u', UNIT, '--no-pager', '-o', 'cat'])).toContain(`run ${done.runs[0].id}`);
    await waitForNoBpfLeftByRun(baseline, GUEST_SERVICES, 30_000);

    const { status: uninstalling } = await fleet.api.client.request('POST', `/v1/hosts/ssh/${HOST}/uninstall`);
    expect(uninstalling).toBe(202);
    await sshHost((h) => {
      if (h.daemon?.state === 'failed') throw new StopWaiting(`uninstall failed: ${h.daemon.error}`);
      return h.daemon === null;
    }, 120_000);
    console.log(`ssh-bootstrap-systemd: the unit's journal to its end:\n${inGuest(['journalctl', '-u', UNIT, '--no-pager', '-n', '12'])}`);
    // The unit, its drop-in, its enablement and its files are gone; systemd no longer knows it.
    expect(unitProperties('LoadState', 'ActiveState')).toEqual({ LoadState: 'not-found', ActiveState: 'inactive' });
    const installed = [`/etc/systemd/system/${UNIT}`, `/etc/systemd/system/${UNIT}.d`, `/etc/systemd/system/multi-user.target.wants/${UNIT}`, HOST_DIR];
    expect(inGuest(['sh', '-c', 'for f in "$@"; do if [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; fi; done', 'fleettrace-check', ...installed])).toBe('');
    // (The bracket keeps pgrep from finding this very shell, whose command line holds the pattern.)
    expect(inGuest(['sh', '-c', "pgrep -f '[d]aemon[.]mjs' || true"])).toBe('');
    await waitForNoBpfLeftByRun(baseline, GUEST_SERVICES, 30_000);
    // Reached over SSH again.
    await waitFor(`${HOST} an SSH host again`, async () => (await fleet.api.client.hosts()).find((h) => h.id === HOST)?.kind === 'ssh', 60_000, 500);
  }, 600_000);
});
