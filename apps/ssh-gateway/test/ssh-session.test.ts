// The gateway's SSH connection and remote bpftrace against a real OpenSSH server on loopback (same
// kernel as this machine, so bpftool here sees what the "remote" host loaded).
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultRunLimits, type CountsOutput } from '@fleettrace/contracts';
import type { RunnerMessage, RunnerStart } from '@fleettrace/runner';
import { REPO_ROOT, freePort, generateSshKey, waitFor, type RunningSshd } from '@fleettrace/infra/stack';
import { tracepointsAttachedBy } from '@fleettrace/bpf-loader/testing';
import { bpfBaseline, bpfLeftByRun, waitForNoBpfLeftByRun } from '@fleettrace/testing/bpf-leak-check';
import { loopbackSshds } from '@fleettrace/testing/loopback-ssh';
import { SshSession, type SshOptions } from '../src/ssh/ssh-session';
import { runBpftraceOverSsh } from '../src/ssh-runner';
import { probeHost } from '../src/probe';

const sshds = loopbackSshds('sshs');
const dir = sshds.dir;
let sshd: RunningSshd;
let options: SshOptions;
const sessions: SshSession[] = [];
/** The workload under a name of its own: the scripts count its calls by comm, and nothing else has that name. */
const WORKLOAD = join(dir, `ftw${process.pid}`);
/** bpftrace processes under the test's sshd (this machine may run others, not the test's). */
const BPFTRACE_OF_THE_HOST = `pgrep -x bpftrace --cgroup ${sshds.cgroup}`;

beforeAll(async () => {
  sshd = await sshds.start();
  options = { keyDir: sshds.keyDir, connectTimeoutSeconds: 15, keepaliveSeconds: 5 };
  copyFileSync(join(REPO_ROOT, 'infra/build/workload'), WORKLOAD);
  execFileSync('chmod', ['+x', WORKLOAD]);
});

afterAll(async () => {
  for (const session of sessions) await session.close();
  await sshds.stop();
});

async function open(hostKey: string, overrides: Partial<{ name: string; port: number }> = {}): Promise<SshSession> {
  const session = await SshSession.open({ name: overrides.name ?? 'loopback', host: '127.0.0.1', port: overrides.port ?? sshd.port, user: 'root', hostKey }, options);
  sessions.push(session);
  return session;
}

function start(durationSeconds: number): RunnerStart {
  return { type: 'start', runId: `ssh-${Date.now()}`, program: { kind: 'bpftrace', script: '' }, params: {}, durationSeconds, cgroupId: null, limits: defaultRunLimits() };
}

describe('SshSession', () => {
  it('connects with the pinned key, as root, and runs argv commands exactly', async () => {
    const session = await open(sshd.hostKeyFingerprint);
    expect(session.hostKey).toBe(sshd.hostKeyFingerprint);
    expect(session.sudo).toBe(false);
    const echoed = await session.run(['printf', '%s|', "it's", '$(id)', 'a b']);
    expect(echoed).toEqual({ code: 0, stdout: "it's|$(id)|a b|", stderr: '' });
    const probe = await probeHost(session);
    expect(probe.kernelRelease).toBe(execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim());
    expect(probe).toMatchObject({ arch: process.arch, root: 'root', btf: true });
    expect(probe.bpftrace).toMatch(/^bpftrace v/);
  });

  it('first use takes the key the host shows', async () => {
    expect((await open('first-use')).hostKey).toBe(sshd.hostKeyFingerprint);
  });

  it('a host showing another key is refused before anything runs on it', async () => {
    const other = generateSshKey(join(dir, 'other-host-key')).fingerprint;
    await expect(open(other)).rejects.toThrow(`host key mismatch: expected ${other}, the host presented ${sshd.hostKeyFingerprint}`);
  });

  it('a key the host does not accept, and a port nobody listens on, say so', async () => {
    const strangerDir = join(dir, 'stranger');
    mkdirSync(strangerDir);
    generateSshKey(join(strangerDir, 'default'));
    await expect(SshSession.open({ name: 'x', host: '127.0.0.1', port: sshd.port, user: 'root', hostKey: sshd.hostKeyFingerprint }, { ...options, keyDir: strangerDir })).rejects.toThrow(
      /^authentication refused: 127\.0\.0\.1:\d+ did not accept root's key \(.*Permission denied.*\)$/,
    );
    const closed = await freePort();
    await expect(open(sshd.hostKeyFingerprint, { port: closed })).rejects.toThrow(`unreachable: 127.0.0.1:${closed}: connection refused`);
    await expect(SshSession.open({ name: 'nokey', host: '127.0.0.1', port: sshd.port, user: 'root', hostKey: sshd.hostKeyFingerprint }, { ...options, keyDir: join(dir, 'empty') })).rejects.toThrow(
      `no private key for nokey: ${join(dir, 'empty')} has neither nokey nor default, and SSH_AUTH_SOCK names no agent`,
    );
  });
});

describe('bpftrace over SSH', () => {
  const comm = `ftw${process.pid}`.slice(0, 15);
  const script = `tracepoint:syscalls:sys_enter_getpriority /comm == "${comm}"/ { @calls[comm] = count(); }`;

  it('runs the script for its duration, parsed by the runner\'s own parser, and leaves nothing on the host', async () => {
    const session = await open(sshd.hostKeyFingerprint);
    const baseline = bpfBaseline();
    const messages: RunnerMessage[] = [];
    let running!: () => void;
    const isRunning = new Promise<void>((resolve) => (running = resolve));
    const run = runBpftraceOverSsh(start(4), { kind: 'bpftrace', script }, (m) => {
      messages.push(m);
      if (m.type === 'state' && m.state === 'running') running();
    }, new Promise(() => {}), session, 30);
    await isRunning;
    // `running` means traced: the kernel already shows the host's bpftrace on the tracepoint. bpftrace
    // prints attached_probes before it attaches; CI run h3, `running` on that message, counted none
    // of the 250 calls.
    const bpftraces = execFileSync('sh', ['-c', `${BPFTRACE_OF_THE_HOST} || true`]).toString().split('\n').filter(Boolean).map(Number);
    expect(tracepointsAttachedBy(bpftraces)).toContain('sys_enter_getpriority');
    execFileSync(WORKLOAD, ['getpriority', '250']);
    await run;
    const done = messages.find((m) => m.type === 'done');
    expect(done, JSON.stringify(messages)).toBeDefined();
    const counts = (done as Extract<RunnerMessage, { type: 'done' }>).outputs.find((o) => o.kind === 'counts') as CountsOutput;
    expect(counts.entries).toEqual([{ key: { key: comm }, value: 250 }]);
    expect(messages.filter((m) => m.type === 'state').map((m) => (m as { state: string }).state)).toEqual(['loading', 'running', 'draining']);
    expect((await session.run(['sh', '-c', `${BPFTRACE_OF_THE_HOST} || true`])).stdout).toBe('');
    expect(bpfLeftByRun(baseline, sshds.processes)).toEqual([]);
  }, 60_000);

  it('a script bpftrace rejects fails with bpftrace\'s own error', async () => {
    const session = await open(sshd.hostKeyFingerprint);
    const messages: RunnerMessage[] = [];
    await expect(runBpftraceOverSsh(start(5), { kind: 'bpftrace', script: 'tracepoint:nope:nope { @x = count(); }' }, (m) => messages.push(m), new Promise(() => {}), session, 30)).rejects.toThrow(
      /^bpftrace rejected the script: [\s\S]*nope/,
    );
  }, 60_000);

  it('when the connection dies mid-run, the host\'s bpftrace stops on its own and no BPF object remains', async () => {
    const session = await open(sshd.hostKeyFingerprint);
    const baseline = bpfBaseline();
    let running!: () => void;
    const isRunning = new Promise<void>((resolve) => (running = resolve));
    const run = runBpftraceOverSsh(start(60), { kind: 'bpftrace', script }, (m) => {
      if (m.type === 'state' && m.state === 'running') running();
    }, new Promise(() => {}), session, 120).catch((error: Error) => error);
    await isRunning;
    expect((await session.run(['sh', '-c', `${BPFTRACE_OF_THE_HOST} | wc -l`])).stdout.trim()).toBe('1');
    // The whole connection goes, as when the gateway dies or the network breaks.
    await session.close();
    await waitFor('the host\'s bpftrace to stop', async () => !execFileSync('sh', ['-c', `${BPFTRACE_OF_THE_HOST} || true`], { encoding: 'utf8' }).trim(), 15_000);
    await waitForNoBpfLeftByRun(baseline, sshds.processes);
    await run;
  }, 60_000);
});

