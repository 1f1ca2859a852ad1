import type { BpftraceProgram } from '@fleettrace/contracts';
import { bpftraceAdapter, describeFailure, OverheadGuard, runSession, type RunnerHandle, type RunnerLauncher, type RunnerMessage, type RunnerOutcome, type RunnerStart } from '@fleettrace/runner';
import { remoteBpftrace } from './remote-bpftrace';
import { runRemoteRunner, type RemoteRunnerHost } from './remote-runner';
import type { SshSession } from './ssh/ssh-session';

/**
 * The runs of one SSH host, for the daemon's RunExecutor: the same start message, reports and
 * outcome as a runner process gives, so states, results, cancels and the watchdog are the daemon's
 * own code. A bpftrace run lives in the gateway and only bpftrace runs on the host
 * (remote-bpftrace.ts); catalog and C programs run in the daemon's own runner, uploaded to the host
 * and speaking its protocol over the channel (remote-runner.ts).
 * At `killAfterMs` (or when the executor's watchdog kills the run) the run's remote command is
 * killed, not asked to stop: a runner or bpftrace that overran its time may be stuck or stopped. Its
 * channel is dropped and its process group SIGKILLed on the host over a second channel
 * (remote-process.ts). The run ends timed out, as a daemon's killed runner does.
 */
export function sshRunnerLauncher(connect: () => Promise<SshSession>, host: RemoteRunnerHost): RunnerLauncher {
  return (start, killAfterMs, onMessage) => {
    let requestStop: () => void = () => {};
    const stop = new Promise<void>((resolve) => (requestStop = resolve));
    let ended: RunnerMessage | undefined;
    const send = (message: RunnerMessage): void => {
      if (ended) return;
      if (message.type === 'done' || message.type === 'failed') ended = message;
      onMessage(message);
    };
    let killedBy: 'watchdog' | 'executor' | undefined;
    let requestKill: () => void = () => {};
    const killed = new Promise<void>((resolve) => (requestKill = resolve));
    const kill = (by: 'watchdog' | 'executor'): void => {
      if (killedBy || ended) return;
      killedBy = by;
      requestKill();
    };
    const watchdog = setTimeout(() => kill('watchdog'), killAfterMs);
    const run = runOverSsh(start, send, stop, killed, connect, killAfterMs, host);
    const outcome: Promise<RunnerOutcome> = Promise.race([run, killed]).then(() => {
      clearTimeout(watchdog);
      // After the kill, nothing the run still says counts: it ended timed out.
      if (killedBy && !ended) ended = { type: 'failed', error: 'timed out' };
      const dead = killedBy !== undefined;
      return { exitCode: dead ? null : 0, signal: dead ? 'SIGKILL' : null, killedByWatchdog: killedBy === 'watchdog', stderrTail: '' };
    });
    // The run is in this process; its remote part has no pid here.
    const handle: RunnerHandle = { pid: process.pid, stop: () => requestStop(), kill: () => kill('executor'), outcome };
    return handle;
  };
}

async function runOverSsh(
  start: RunnerStart,
  send: (message: RunnerMessage) => void,
  stop: Promise<void>,
  killed: Promise<void>,
  connect: () => Promise<SshSession>,
  hardLimitMs: number,
  host: RemoteRunnerHost,
): Promise<void> {
  try {
    const program = start.program;
    if (typeof program === 'string' || program.kind !== 'bpftrace') {
      await runRemoteRunner(start, send, stop, connect, hardLimitMs, host, killed);
      return;
    }
    await runBpftraceOverSsh(start, program, send, stop, await connect(), hardLimitMs / 1000, killed, connect, host.log);
  } catch (error) {
    send(describeFailure(error));
  }
}

/**
 * One bpftrace run on the host behind `session`, in the runner's own run session (states, limits,
 * draining, summary): only launching bpftrace differs (remoteBpftrace). Throws when the run failed.
 * The overhead budget is reported not applied: bpftrace's programs run on the host, whose fdinfo
 * this gateway does not read, and the run's summary must not claim a limit it did not enforce.
 */
export function runBpftraceOverSsh(
  start: RunnerStart,
  program: BpftraceProgram,
  send: (message: RunnerMessage) => void,
  stop: Promise<void>,
  session: SshSession,
  hardLimitSeconds: number,
  /** Resolves when the run must end now: bpftrace and its wrapper are killed on the host. */
  killed: Promise<void> = new Promise(() => {}),
  /** The host's connection for that kill, made again when the run's is gone. */
  connect: () => Promise<SshSession> = () => Promise.resolve(session),
  log: (line: string) => void = () => {},
): Promise<void> {
  const { limits } = start;
  return runSession(start, bpftraceAdapter(start, program, remoteBpftrace(session, hardLimitSeconds, killed, connect, log)), send, stop, {
    guard: (stats, onExceeded) =>
      new OverheadGuard(stats, limits.overheadBudgetPercent, limits.overheadWindowMs, onExceeded, undefined, () => {
        throw new Error(`bpftrace runs on ${session.address} over SSH, where the gateway does not read its programs' run time`);
      }),
  });
}
