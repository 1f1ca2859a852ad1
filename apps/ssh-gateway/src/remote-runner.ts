import { CapabilityReport } from '@fleettrace/contracts';
import type { RemoteRunnerBundle, RunnerMessage, RunnerStart } from '@fleettrace/runner';
import { hostRunners, type RunnerPoolOptions } from './runner-pool';
import { killRemoteGroup } from './remote-process';
import { ensureRemoteRunner } from './runner-upload';
import type { SshSession } from './ssh/ssh-session';

/** The bundle is built for Node 20 (esbuild's target) and its addon for N-API 8, which Node 20 has. */
export const MIN_REMOTE_NODE_MAJOR = 20;

/** What the gateway knows of a host, from its latest probe, and the bundle it would run there. */
export interface RemoteRunnerHost {
  /** `node --version` on the host, or null when it has none. */
  node(): string | null;
  /** The host's arch in Node's names. */
  arch(): string;
  bundle(): RemoteRunnerBundle;
  /** How the host's runners are kept (runner-pool.ts). */
  pool: RunnerPoolOptions;
  log: (line: string) => void;
}

/** Why the runner cannot run on this host (the run is then `unsupported`), or null when it can. */
export function remoteRunnerUnsupported(host: { node: string | null; arch: string }, bundle: Pick<RemoteRunnerBundle, 'arch'>, address: string): string | null {
  const needs = `catalog and C programs need node >= ${MIN_REMOTE_NODE_MAJOR} on the host`;
  if (host.node === null) return `${address} has no node in its PATH (${needs})`;
  const major = /^v?(\d+)\./.exec(host.node)?.[1];
  if (major === undefined || Number(major) < MIN_REMOTE_NODE_MAJOR) return `${address} has node ${host.node} (${needs})`;
  if (host.arch !== bundle.arch) return `${address} is ${host.arch} and the gateway's runner is built for ${bundle.arch}`;
  return null;
}

/**
 * A catalog or C run on a host over SSH, in the daemon's own runner: the bundle uploaded once
 * (runner-upload.ts), then `node runner.mjs` over an exec channel speaking the runner protocol, one
 * JSON line each way (libs/runner stdio-serve.ts), in a runner of the host's (runner-pool.ts): one
 * already up when there is one, since node's start over SSH (a channel, a shell, node reading the
 * bundle and loading the addon: seconds on a busy host) would be most of the run's start, and a
 * run has only its grace for it, as on a daemon host. The host's runner keeps the time limit
 * itself (it exits at `hardLimitMs`) and exits when its channel ends, so a lost connection leaves
 * nothing loaded there. Reports are passed on as they come; a runner that ends without a `done` or
 * `failed` ends the run failed, with what was already reported kept.
 */
export async function runRemoteRunner(
  start: RunnerStart,
  send: (message: RunnerMessage) => void,
  stop: Promise<void>,
  connect: () => Promise<SshSession>,
  hardLimitMs: number,
  host: RemoteRunnerHost,
  /** Resolves when the run must end now (it overran): the runner is killed on the host, its BPF objects with it. */
  killed: Promise<void> = new Promise(() => {}),
): Promise<void> {
  const session = await connect();
  const bundle = host.bundle();
  const unsupported = remoteRunnerUnsupported({ node: host.node(), arch: host.arch() }, bundle, session.address);
  if (unsupported) {
    send({ type: 'failed', unsupported: true, error: unsupported });
    return;
  }
  const dir = await ensureRemoteRunner(session, bundle);
  const runners = hostRunners(session, dir, host.pool);
  const { runner, source } = runners.take();
  // An overrun run's runner is dropped, never handed back: its channel ends, and its process group
  // is killed on the host (a stopped or stuck runner would not exit with its input).
  void killed.then(() => {
    runner.kill();
    if (runner.process) void killRemoteGroup(connect, runner.process, host.log);
  });
  const sentAt = Date.now();
  let loadingAt: number | undefined;
  let runningAt: number | undefined;
  const end = await runner.execute(start, hardLimitMs, stop, (message) => {
    if (message.type === 'state' && message.state === 'loading') loadingAt ??= Date.now();
    if (message.type === 'state' && message.state === 'running' && runningAt === undefined) {
      runningAt = Date.now();
      // No runner was up for this run: one is started for the next, now, not while this run loaded its programs.
      if (source !== 'idle') runners.replenish();
    }
    send(message);
  });
  // Where a run's start went: the runner it had, when that was up, then to loading and running.
  const had = source === 'idle' ? 'an idle runner' : source === 'booting' ? `a runner booting for ${sentAt - runner.spawnedAt} ms, ` : 'a runner started for it, ';
  const up = source === 'idle' ? '' : runner.upAt === undefined ? 'never up' : `up ${Math.max(0, runner.upAt - sentAt)} ms after the start was sent`;
  const after = (at: number | undefined): string => (at === undefined ? 'never' : `after ${at - sentAt} ms`);
  host.log(`run ${start.runId}: ${had}${up}, loading ${after(loadingAt)}, running ${after(runningAt)}`);
  if (end.reported) return;
  const tail = end.stderrTail ? ` (${end.stderrTail})` : '';
  if (end.exitCode === null) {
    send({ type: 'failed', error: `the SSH connection to ${session.address} ended during the run; the runner there exits with it${tail}` });
  } else if (end.exitCode === 127) {
    send({ type: 'failed', unsupported: true, error: `${session.address} has no node in its PATH (catalog and C programs need node >= ${MIN_REMOTE_NODE_MAJOR} on the host)` });
  } else {
    send({ type: 'failed', error: `the runner on ${session.address} ${end.protocolError ?? `exited with code ${end.exitCode} before reporting results${end.stderrTail ? `: ${end.stderrTail}` : ''}`}` });
  }
}

/**
 * The host's capability report, made on the host by the runner (`--capabilities`: the daemon's own
 * probe and catalog verdicts), the runner uploaded first if it is not there.
 */
export async function remoteCapabilities(session: SshSession, bundle: RemoteRunnerBundle, pool: RunnerPoolOptions): Promise<CapabilityReport> {
  const dir = await ensureRemoteRunner(session, bundle);
  const began = performance.now();
  const result = await session.run(['node', `${dir}/runner.mjs`, '--capabilities']);
  const wallMs = performance.now() - began;
  if (result.code !== 0) throw new Error(`the runner on ${session.address} exited with code ${result.code}: ${result.stderr.trim().slice(-500)}`);
  // The host's first runner, up before its first catalog or C run.
  hostRunners(session, dir, pool).replenish();
  const report = CapabilityReport.parse(JSON.parse(result.stdout));
  if (!report.startTimings) return report;
  // What the command took beyond what the runner measured of its own work: the channel, node's
  // start, the bundle and addon loaded. A run pays it too, unless a runner started ahead waits.
  const measured = report.probeDurationMs + report.startTimings.loaderMs + (report.startTimings.bpftraceMs ?? 0);
  return { ...report, startTimings: { ...report.startTimings, runnerStartMs: Math.max(0, Math.round(wallMs - measured)) } };
}
