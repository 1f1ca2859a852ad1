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
 * At `killAfterMs` the watchdog drops the run's channel (the host's process stops at that, and at
 * its own hard limit anyway) and the run ends timed out, as a daemon's killed runner does.
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
    let watchdog: NodeJS.Timeout | undefined;
    let killedByWatchdog = false;
    const timedOut = new Promise<void>((resolve) => {
      watchdog = setTimeout(() => {
        killedByWatchdog = true;
        requestStop();
        resolve();
      }, killAfterMs);
    });
    const run = runOverSsh(start, send, stop, connect, killAfterMs, host);
    const outcome: Promise<RunnerOutcome> = Promise.race([run, timedOut]).then(() => {
      clearTimeout(watchdog);
      // After the watchdog, nothing the run still says counts: it ended timed out.
      if (killedByWatchdog && !ended) ended = { type: 'failed', error: 'timed out' };
      return { exitCode: killedByWatchdog ? null : 0, signal: killedByWatchdog ? 'SIGKILL' : null, killedByWatchdog, stderrTail: '' };
    });
    // The run is in this process; its remote part has no pid here.
    const handle: RunnerHandle = { pid: process.pid, stop: () => requestStop(), outcome };
    return handle;
  };
}

async function runOverSsh(
  start: RunnerStart,
  send: (message: RunnerMessage) => void,
  stop: Promise<void>,
  connect: () => Promise<SshSession>,
  hardLimitMs: number,
  host: RemoteRunnerHost,
): Promise<void> {
  try {
    const program = start.program;
    if (typeof program === 'string' || program.kind !== 'bpftrace') {
      await runRemoteRunner(start, send, stop, connect, hardLimitMs, host);
      return;
    }
    await runBpftraceOverSsh(start, program, send, stop, await connect(), hardLimitMs / 1000);
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
): Promise<void> {
  const { limits } = start;
  return runSession(start, bpftraceAdapter(start, program, remoteBpftrace(session, hardLimitSeconds)), send, stop, {
    guard: (stats, onExceeded) =>
      new OverheadGuard(stats, limits.overheadBudgetPercent, limits.overheadWindowMs, onExceeded, undefined, () => {
        throw new Error(`bpftrace runs on ${session.address} over SSH, where the gateway does not read its programs' run time`);
      }),
  });
}
