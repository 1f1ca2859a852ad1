import { createInterface } from 'node:readline';
import { CapabilityReport } from '@fleettrace/contracts';
import { encodeLine, STOP_LINE, type RemoteRunnerBundle, type RunnerMessage, type RunnerStart } from '@fleettrace/runner';
import { ensureRemoteRunner } from './runner-upload';
import type { RemoteCommand, SshSession } from './ssh/ssh-session';

/** How long a runner started ahead of time waits for a run before it exits (and the next is started at the next run). */
export const STANDBY_RUNNER_MS = 10 * 60 * 1000;

const standby = new WeakMap<SshSession, RemoteCommand>();

function startRunner(session: SshSession, dir: string): RemoteCommand {
  const child = session.spawn(['node', `${dir}/runner.mjs`, '--idle-exit-after-ms', String(STANDBY_RUNNER_MS)]);
  child.once('error', () => undefined);
  return child;
}

/**
 * A runner for this run: the one started ahead of time on this connection if it still waits,
 * else a new one; and the next run's started now. Node's start over SSH (a channel, a shell, node
 * reading the bundle and loading the addon: seconds on a busy host) is most of a run's start, and
 * a run has only its grace for it, as on a daemon host.
 */
function takeRunner(session: SshSession, dir: string): RemoteCommand {
  const waiting = standby.get(session);
  standby.delete(session);
  const usable = waiting !== undefined && waiting.exitCode === null && waiting.signalCode === null;
  if (waiting && !usable) waiting.kill();
  const runner = usable ? waiting : startRunner(session, dir);
  if (session.alive) standby.set(session, startRunner(session, dir));
  return runner;
}

/** Starts the first runner ahead of time (after the install): the host's first run need not wait for node. */
export function prestartRunner(session: SshSession, dir: string): void {
  if (!standby.has(session) && session.alive) standby.set(session, startRunner(session, dir));
}

/** The bundle is built for Node 20 (esbuild's target) and its addon for N-API 8, which Node 20 has. */
export const MIN_REMOTE_NODE_MAJOR = 20;
const STDERR_TAIL_BYTES = 4096;

/** What the gateway knows of a host, from its latest probe, and the bundle it would run there. */
export interface RemoteRunnerHost {
  /** `node --version` on the host, or null when it has none. */
  node(): string | null;
  /** The host's arch in Node's names. */
  arch(): string;
  bundle(): RemoteRunnerBundle;
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
 * JSON line each way (libs/runner stdio-serve.ts). The host's runner keeps the time limit itself
 * (it exits at `hardLimitMs`) and exits when its channel ends, so a lost connection leaves nothing
 * loaded there. Reports are passed on as they come; a channel that ends without a `done` or
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
  const child = takeRunner(session, dir);
  void killed.then(() => child.kill());
  let stderrTail = '';
  child.stderr.on('data', (chunk: Buffer) => (stderrTail = (stderrTail + chunk.toString()).slice(-STDERR_TAIL_BYTES)));
  let ended = false;
  let protocolError: string | undefined;
  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (ended || line === '') return;
    let message: RunnerMessage;
    try {
      message = JSON.parse(line) as RunnerMessage;
    } catch {
      protocolError ??= `the runner on ${session.address} wrote what is not its protocol: ${line.slice(0, 200)}`;
      return;
    }
    if (message.type === 'done' || message.type === 'failed') ended = true;
    send(message);
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', () => undefined);
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal }));
  });
  const linesDone = new Promise<void>((resolve) => lines.once('close', () => resolve()));
  child.stdin.write(encodeLine({ ...start, exitAfterMs: Math.max(1, Math.round(hardLimitMs)) }));
  void stop.then(() => {
    if (child.exitCode === null && child.signalCode === null) child.stdin.write(`${STOP_LINE}\n`);
  });
  const exit = await closed;
  await linesDone;
  child.stdin.end();
  if (ended) return;
  const tail = stderrTail.trim().split('\n').slice(-3).join(' | ');
  if (exit.code === null) {
    send({ type: 'failed', error: `the SSH connection to ${session.address} ended during the run; the runner there exits with it${tail ? ` (${tail})` : ''}` });
  } else if (exit.code === 127) {
    send({ type: 'failed', unsupported: true, error: `${session.address} has no node in its PATH (catalog and C programs need node >= ${MIN_REMOTE_NODE_MAJOR} on the host)` });
  } else {
    send({ type: 'failed', error: protocolError ?? `the runner on ${session.address} exited with code ${exit.code} before reporting results${tail ? `: ${tail}` : ''}` });
  }
}

/**
 * The host's capability report, made on the host by the runner (`--capabilities`: the daemon's own
 * probe and catalog verdicts), the runner uploaded first if it is not there.
 */
export async function remoteCapabilities(session: SshSession, bundle: RemoteRunnerBundle): Promise<CapabilityReport> {
  const dir = await ensureRemoteRunner(session, bundle);
  const began = performance.now();
  const result = await session.run(['node', `${dir}/runner.mjs`, '--capabilities']);
  const wallMs = performance.now() - began;
  if (result.code !== 0) throw new Error(`the runner on ${session.address} exited with code ${result.code}: ${result.stderr.trim().slice(-500)}`);
  prestartRunner(session, dir);
  const report = CapabilityReport.parse(JSON.parse(result.stdout));
  if (!report.startTimings) return report;
  // What the command took beyond what the runner measured of its own work: the channel, node's
  // start, the bundle and addon loaded. A run pays it too, unless a runner started ahead waits.
  const measured = report.probeDurationMs + report.startTimings.loaderMs + (report.startTimings.bpftraceMs ?? 0);
  return { ...report, startTimings: { ...report.startTimings, runnerStartMs: Math.max(0, Math.round(wallMs - measured)) } };
}
