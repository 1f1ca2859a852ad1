// An SSH host turned into a daemon host and back (POST /v1/hosts/ssh/:id/bootstrap, /uninstall), and
// SSH hosts whose login user is not root: Debian's sshd on a loopback port, a real SSH gateway, the
// API and its Redis; the daemon the gateway installs is the real one, run by this machine's node.
// This machine runs no systemd, so the gateway takes its documented fallback: the daemon as a
// process under setpriv (the unit's capability bounding set, no_new_privs), its PID recorded. The
// systemd path (the hardened unit) is tested on the 6.1 guest: ssh-bootstrap-systemd.test.ts.
import { randomUUID } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostRedisUser, type CountsOutput, type JobView, type SshHostView } from '@fleettrace/contracts';
import { countGetpriorityCSource } from '@fleettrace/infra';
import { REPO_ROOT, waitFor } from '@fleettrace/infra/stack';
import { remoteRunnerBundle } from '@fleettrace/runner';
import { bpfBaseline, bpfObjectsSince, waitForNoBpfLeftByRun } from '../support/bpf-leak-check';
import type { Fleet } from '../support/fleet';
import { startSshFleet, type SshFleet } from '../support/loopback-ssh';
import { getResults, submitJob, waitForJobDone, waitForRuns } from '../support/jobs';

let sshFleet: SshFleet;
let fleet: Fleet;
let redis: Redis;
const COMM = `ftboot${process.pid}`.slice(0, 15);
let workload: string;
const DAEMON_BUNDLE = JSON.parse(readFileSync(join(REPO_ROOT, 'apps/node-daemon/dist/remote/bundle.json'), 'utf8')) as { sha256: string };
/** Two local users made for the sudo tests, removed after: one may sudo without a password, one may not. */
const SUDO_USER = `ftsudo${process.pid % 100000}`;
const PLAIN_USER = `ftplain${process.pid % 100000}`;
const SUDOERS = `/etc/sudoers.d/${SUDO_USER}`;
const madeUsers: string[] = [];

beforeAll(async () => {
  sshFleet = await startSshFleet('sshboot', 1);
  fleet = sshFleet.fleet;
  workload = sshFleet.workload(COMM);
  redis = new Redis(fleet.redisUrl);
}, 120_000);

afterAll(async () => {
  // The sshds first: userdel refuses a user that still has processes (a session of the sudo test).
  await sshFleet?.stop();
  rmSync(SUDOERS, { force: true });
  for (const user of madeUsers) execFileSync('userdel', ['--remove', user], { stdio: 'ignore' });
  redis?.disconnect();
});

const sshHost = (name: string, until: (host: SshHostView) => boolean, timeoutMs = 90_000): Promise<SshHostView> => sshFleet.sshHost(name, until, timeoutMs);
const hostOf: SshFleet['host'] = (name, until) => sshFleet.host(name, until, 60_000);

/** Alive, and not a zombie waiting for its parent (PID 1 here) to reap it. */
function running(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** The real CLI binary against the fleet's API: exit code, stdout, stderr. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '', HOME: sshFleet.sshds.dir, FLEETTRACE_URL: fleet.api.url, FLEETTRACE_TOKEN: fleet.token };
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO_ROOT, 'apps/cli/bin/fleettrace.mjs'), ...args], { env, cwd: sshFleet.sshds.dir }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function syscountOn(hostId: string): Promise<JobView> {
  const job = await submitJob(fleet.api.client, { program: 'syscount', params: { comm: COMM }, durationSeconds: 8, targets: { hostIds: [hostId] } });
  await waitForRuns(fleet.api.client, job.id, ['running'], 60_000);
  execFileSync(workload, ['getpriority', '300']);
  return waitForJobDone(fleet.api.client, job.id, 60_000);
}

describe('bootstrapping a daemon over SSH', () => {
  it('installs a daemon that registers under the same host id and runs a catalog job; uninstall removes it, its files and its Redis user', async () => {
    const server = await sshFleet.sshds.start();
    await sshFleet.enrol('ssh-boot', server);
    await sshHost('ssh-boot', (h) => h.state === 'enrolled');
    expect((await hostOf('ssh-boot', (h) => h?.online === true)).kind).toBe('ssh');

    // Neither a host that is not enrolled nor one without a daemon can be uninstalled; an unknown one is a 404.
    expect(await fleet.api.client.request('POST', '/v1/hosts/ssh/ssh-boot/uninstall')).toMatchObject({ status: 409, body: { message: 'host ssh-boot has no daemon to uninstall' } });
    expect(await fleet.api.client.request('POST', '/v1/hosts/ssh/no-such-host/bootstrap')).toMatchObject({ status: 404, body: { message: 'SSH host no-such-host not found' } });

    const baseline = bpfBaseline();
    // A leftover of an earlier install (an aborted one): kept credentials naming a Redis long gone
    // must not stand in for this install's enrolment.
    const hostDir = '/var/lib/fleettrace/daemon-ssh-boot';
    mkdirSync(hostDir, { recursive: true, mode: 0o700 });
    writeFileSync(`${hostDir}/redis-credentials.json`, JSON.stringify({ redisUrl: 'redis://stale:stale@127.0.0.1:1/0' }), { mode: 0o600 });
    // The API answers at once (installing); the CLI follows it until the daemon registers.
    const bootstrapping = cli(['hosts', 'bootstrap', 'ssh-boot']);
    const installing = await sshHost('ssh-boot', (h) => h.daemon != null);
    expect(installing.daemon).toMatchObject({ action: 'install', error: null });
    expect(await fleet.api.client.request('POST', '/v1/hosts/ssh/ssh-boot/bootstrap')).toMatchObject({ status: 409, body: { message: expect.stringMatching(/^host ssh-boot already has a daemon \((installing|registered)\)/) } });
    const bootstrapped = await bootstrapping;
    expect(bootstrapped, fleet.logs()).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ssh-boot: daemon registered \(process pid \d+\); its runs go to it\n$/), stderr: 'installing a daemon on ssh-boot\n' });
    const registered = await fleet.api.client.get<SshHostView>('/v1/hosts/ssh/ssh-boot');
    expect(registered.daemon).toMatchObject({ state: 'registered', mode: 'process', error: null });
    const pid = registered.daemon!.pid!;
    expect(running(pid)).toBe(true);
    const bundleDir = `/var/lib/fleettrace/daemon-bundle-${DAEMON_BUNDLE.sha256}`;
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain(`${bundleDir}/daemon.mjs`);
    // The token came by file (its environment file, root's only), never on its command line.
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain('fte_');
    expect((execFileSync('stat', ['-c', '%a %U', `${hostDir}/daemon.env`], { encoding: 'utf8' })).trim()).toBe('600 root');
    // Spent at enrolment, the token is not kept on the host; the rest of the environment is.
    const environment = readFileSync(`${hostDir}/daemon.env`, 'utf8');
    expect(environment).not.toContain('FLEETTRACE_ENROL_TOKEN');
    expect(environment).toContain('FLEETTRACE_HOST_ID=ssh-boot\n');
    // Its own Redis user, from its enrolment: the credentials it keeps name it.
    const user = hostRedisUser(fleet.redisPrefix, 'ssh-boot');
    expect(JSON.parse(readFileSync(`${hostDir}/redis-credentials.json`, 'utf8')).redisUrl).toContain(encodeURIComponent(user));
    expect(await redis.call('ACL', 'GETUSER', user)).not.toBeNull();
    // One host, one id: it is now a daemon host, online.
    expect(await hostOf('ssh-boot', (h) => h?.kind === 'daemon' && h.online)).toMatchObject({ kind: 'daemon', labels: { via: 'ssh' } });

    const done = await syscountOn('ssh-boot');
    expect(done.runs.map((r) => [r.hostId, r.state, r.error])).toEqual([['ssh-boot', 'succeeded', null]]);
    const syscalls = (await getResults(fleet.api.client, done.id)).hosts[0].outputs.find((o) => o.name === 'syscalls') as CountsOutput;
    expect(syscalls.entries.find((e) => e.key.syscall === 'getpriority')?.value).toBe(300);
    // The bootstrapped daemon ran it, in its own runner, not the gateway.
    expect(readFileSync(`${hostDir}/daemon.log`, 'utf8')).toContain(`run ${done.runs[0].id}: syscount`);

    // A custom C program compiles there, against the libbpf headers shipped in the daemon's bundle.
    for (const header of ['libs/runner/include/vmlinux.h', 'libs/runner/include/bpf/bpf_helpers.h', 'libs/runner/include/bpf/bpf_tracing.h']) expect(existsSync(`${bundleDir}/${header}`)).toBe(true);
    // A source of its own, so it compiles there: a cached object (another test's daemon compiled the
    // same source into the same /var/cache/fleettrace) hid that such a daemon could not clean up a compile.
    const program = { kind: 'c' as const, source: `${countGetpriorityCSource()}// ${randomUUID()}\n`, outputs: [{ kind: 'counts' as const, map: 'counts', unit: 'calls', name: 'getpriority' }] };
    const cJob = await submitJob(fleet.api.client, { program, durationSeconds: 8, limits: { overheadBudgetPercent: 100 }, targets: { hostIds: ['ssh-boot'] } });
    await waitForRuns(fleet.api.client, cJob.id, ['running'], 90_000);
    execFileSync(workload, ['getpriority', '200']);
    const cDone = await waitForJobDone(fleet.api.client, cJob.id, 90_000);
    expect(cDone.runs.map((r) => [r.hostId, r.state, r.error])).toEqual([['ssh-boot', 'succeeded', null]]);
    const counts = (await getResults(fleet.api.client, cJob.id)).hosts[0].outputs.find((o) => o.name === 'getpriority') as CountsOutput;
    expect(counts.entries.find((e) => e.key.comm === COMM)?.value).toBe(200);

    const removing = cli(['hosts', 'uninstall', 'ssh-boot']);
    // The Redis user goes at once, before the gateway reaches the host.
    await waitFor('the Redis user revoked', async () => (await redis.call('ACL', 'GETUSER', user)) === null, 10_000, 100);
    expect(await removing).toEqual({ code: 0, stdout: 'ssh-boot: daemon removed; reached over SSH again\n', stderr: 'removing the daemon of ssh-boot\n' });
    expect((await fleet.api.client.get<SshHostView>('/v1/hosts/ssh/ssh-boot')).daemon).toBeNull();
    // A second uninstall has nothing to remove: the CLI says why, exit 1; a bad id is a usage error, exit 2.
    expect(await cli(['hosts', 'uninstall', 'ssh-boot'])).toMatchObject({ code: 1, stderr: expect.stringContaining('host ssh-boot has no daemon to uninstall') });
    expect(await cli(['hosts', 'bootstrap', 'bad/id'])).toMatchObject({ code: 2, stderr: expect.stringContaining('host id must be 1 to 128 of A-Z a-z 0-9 _ . -, got "bad/id"') });
    expect(running(pid)).toBe(false);
    expect(existsSync(hostDir)).toBe(false);
    expect(existsSync(bundleDir)).toBe(false);
    // The daemon ran in its own session, its parent gone: it was still in the sshd's cgroup.
    await waitForNoBpfLeftByRun(baseline, sshFleet.processes);
    // And it is an SSH host again, served by the gateway.
    expect((await hostOf('ssh-boot', (h) => h?.kind === 'ssh')).kind).toBe('ssh');
    const audit = await fleet.api.client.get<{ items: Array<{ action: string; subject: string }> }>('/v1/audit?subject=ssh-boot');
    expect(audit.items.map((a) => a.action)).toEqual(expect.arrayContaining(['ssh-host.bootstrap', 'ssh-host.uninstall', 'host.enrol', 'host.revoke']));
  }, 300_000);
});

describe('SSH hosts whose login user is not root', () => {
  beforeAll(() => {
    for (const user of [SUDO_USER, PLAIN_USER]) {
      execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', user]);
      madeUsers.push(user);
      // Not locked (sshd refuses a locked account even its key), yet no password to log in with.
      execFileSync('usermod', ['-p', '*', user]);
    }
    writeFileSync(SUDOERS, `${SUDO_USER} ALL=(ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
  });

  it('a user with passwordless sudo is served (commands under sudo -n) and runs a catalog job', async () => {
    const server = await sshFleet.sshds.start({ forOtherUsers: true });
    await sshFleet.enrol('ssh-sudo', server, SUDO_USER);
    expect((await sshHost('ssh-sudo', (h) => h.state !== 'pending')).state).toBe('enrolled');
    await hostOf('ssh-sudo', (h) => h?.online === true);
    await waitFor('the gateway reached it through sudo', async () => readFileSync(join(fleet.logDir, 'ssh-gateway.log'), 'utf8').includes(`host ssh-sudo: reached as ${SUDO_USER} (sudo)`), 30_000, 200);
    await waitFor('its capability report', async () => (await fleet.api.client.get<{ capabilities?: unknown }>('/v1/hosts/ssh-sudo')).capabilities !== undefined, 60_000, 200);
    const baseline = bpfBaseline();
    const done = await syscountOn('ssh-sudo');
    expect(done.runs.map((r) => [r.hostId, r.state, r.error])).toEqual([['ssh-sudo', 'succeeded', null]]);
    const syscalls = (await getResults(fleet.api.client, done.id)).hosts[0].outputs.find((o) => o.name === 'syscalls') as CountsOutput;
    expect(syscalls.entries.find((e) => e.key.syscall === 'getpriority')?.value).toBe(300);
    await waitForNoBpfLeftByRun(baseline, sshFleet.processes);
  }, 200_000);

  it('under sudo too, a runner stopped on its host (SIGSTOP) is gone at its deadline: the run ends timed_out and leaves nothing', async () => {
    const server = await sshFleet.sshds.start({ forOtherUsers: true });
    await sshFleet.enrol('ssh-sudo-stop', server, SUDO_USER);
    await hostOf('ssh-sudo-stop', (h) => h?.online === true);
    await waitFor('its capability report', async () => (await fleet.api.client.get<{ capabilities?: unknown }>('/v1/hosts/ssh-sudo-stop')).capabilities !== undefined, 60_000, 200);
    const baseline = bpfBaseline();
    const job = await submitJob(fleet.api.client, { program: 'syscount', params: { comm: COMM }, durationSeconds: 3, targets: { hostIds: ['ssh-sudo-stop'] } });
    await waitForRuns(fleet.api.client, job.id, ['running'], 60_000);
    // The runner, root under the user's sudo: the one process holding the programs loaded since the job began.
    const holders = [...new Set(bpfObjectsSince(baseline, sshFleet.processes).filter((o) => o.kind === 'prog').flatMap((o) => o.holders))];
    expect(holders).toHaveLength(1);
    const runner = holders[0]!;
    expect(readFileSync(`/proc/${runner}/cmdline`, 'utf8').split('\0')).toContain(`/var/lib/fleettrace/runner-${remoteRunnerBundle().sha256}/runner.mjs`);
    // Stopped, it hears neither the stop at its duration nor the end of its channel's input. Under sudo
    // the gateway's group kill (sent as the login user under `sudo -n`) is not all that ends it: with
    // that kill disabled this test stays green (likely the channel's KILL ends sudo, and the kernel
    // hangs up the orphaned group and its stopped member). ssh-hosts' root login isolates the kill.
    process.kill(runner, 'SIGSTOP');
    const done = await waitForJobDone(fleet.api.client, job.id, 60_000);
    expect(done.runs[0]).toMatchObject({ hostId: 'ssh-sudo-stop', state: 'timed_out' });
    await waitFor('the stopped runner gone from its host', async () => !running(runner), 20_000, 100);
    await waitForNoBpfLeftByRun(baseline, sshFleet.processes);
  }, 200_000);

  it('a user with neither root nor passwordless sudo is refused, saying so', async () => {
    const server = await sshFleet.sshds.start({ forOtherUsers: true });
    await sshFleet.enrol('ssh-plain', server, PLAIN_USER);
    const refused = await sshHost('ssh-plain', (h) => h.state !== 'pending', 30_000);
    expect(refused).toMatchObject({
      state: 'refused',
      error: `no root: ${PLAIN_USER} on ${server.address} is not root and has no passwordless sudo (sudo -n), and BPF needs root`,
    });
  }, 60_000);
});
