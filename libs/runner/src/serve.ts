import { CoreBtfCache, setDefaultCoreBtf, setParentDeathSignal, VerifierError } from '@fleettrace/bpf-loader';
import { catalogAdapter, type ProgramResolver } from './catalog-run';
import { WARM_RUNNER_RUN_ID, type RunnerMessage, type RunnerStart } from './protocol';
import { coreBtfCacheDir } from './host-dirs';
import { BpftraceFailedError, bpftraceAdapter } from './bpftrace-run';
import { CCompileError, cAdapter, ProgramPolicyError } from './c-run';
import { RunLimitError, runSession, StartAllowanceError, UnsupportedProgramError, type RunAdapter } from './run-session';

/**
 * The runner process: one run, then exit. Everything it loaded into the kernel is tied to its
 * file descriptors, so even a SIGKILL leaves no program, link or map behind (and the kernel turns
 * off the BPF stats its BPF_ENABLE_STATS fd kept on).
 */
export function serveRunner(resolveProgram?: ProgramResolver): void {
  dieWithTheDaemon();
  // Catalog objects load against their minimized BTF, made at a program's first run on this
  // kernel and kept for the next runs: ~20 ms less per load than parsing the kernel's BTF.
  useCoreBtfCache();
  const send = (message: RunnerMessage): Promise<void> => new Promise((resolve) => process.send!(message, () => resolve()));

  let requestStop: () => void = () => {};
  const stop = new Promise<void>((resolve) => (requestStop = resolve));
  process.on('SIGTERM', () => requestStop());
  process.on('SIGINT', () => requestStop());

  process.once('message', async (start: RunnerStart) => {
    nameTheRun(start.runId);
    let pending = Promise.resolve();
    const queue = (message: RunnerMessage): void => {
      pending = pending.then(() => send(message));
    };
    await executeRun(start, queue, stop, resolveProgram);
    await pending;
    reported = true;
    process.disconnect();
    // Nothing of the run may keep this process alive once it has reported.
    process.exit(0);
  });
}

/**
 * A warm runner learns its run only now: its command line (ps, /proc/<pid>/cmdline), where people
 * and tests find a run's runner by `--run-id <id>`, is rewritten to name it. The title replaces
 * the whole command line and fits because the placeholder is as long as the id.
 */
function nameTheRun(runId: string): void {
  const i = process.argv.indexOf(WARM_RUNNER_RUN_ID);
  if (i < 0) return;
  const argv = [...process.argv];
  argv[i] = runId;
  process.title = [process.execPath, ...process.execArgv, ...argv.slice(1)].join(' ');
}

/** Set once the run has reported everything: the IPC channel then closes because we close it. */
let reported = false;

/**
 * A runner must not outlive its daemon: its programs would stay attached with nobody to report
 * to. The kernel SIGKILLs it when the daemon dies (parent-death signal), and a closed IPC channel
 * (the daemon died before the signal was set, or dropped us) ends it too. Its programs, links and
 * maps go with its file descriptors.
 */
function dieWithTheDaemon(): void {
  setParentDeathSignal('SIGKILL');
  process.on('disconnect', () => {
    if (!reported) process.exit(1);
  });
  // A daemon that died before the signal was set has left no channel behind: 'disconnect' was before we listened.
  if (!process.connected) process.exit(1);
}

/**
 * One run in this process, whatever its kind (catalog name, bpftrace script or C source): reports
 * through `send` in order and ends with exactly one `done` or `failed`; never throws. The runner
 * process serves it to the daemon; the CLI's local mode calls it directly.
 */
export async function executeRun(start: RunnerStart, send: (message: RunnerMessage) => void, stop: Promise<void>, resolveProgram?: ProgramResolver): Promise<void> {
  try {
    await runSession(start, adapterFor(start, resolveProgram), send, stop);
  } catch (error) {
    send(describeFailure(error));
  }
}

/** What differs by program kind; the session does the rest, the same for all. */
function adapterFor(start: RunnerStart, resolveProgram?: ProgramResolver): RunAdapter {
  if (typeof start.program === 'string') return catalogAdapter(start, resolveProgram);
  if (start.program.kind === 'bpftrace') return bpftraceAdapter(start, start.program);
  return cAdapter(start, start.program);
}

/** Minimized BTF for catalog loads, kept between runs (see serveRunner); a local run uses it too. */
export function useCoreBtfCache(env: NodeJS.ProcessEnv = process.env): void {
  setDefaultCoreBtf(new CoreBtfCache({ dir: coreBtfCacheDir(env) }));
}

export function describeFailure(error: unknown): RunnerMessage {
  if (error instanceof VerifierError) return { type: 'failed', error: `verifier rejected the program: ${error.message}`, verifierLog: error.log };
  if (error instanceof UnsupportedProgramError) return { type: 'failed', error: error.message, unsupported: true };
  if (error instanceof StartAllowanceError) return { type: 'failed', error: error.message, timedOut: true };
  if (error instanceof BpftraceFailedError || error instanceof CCompileError || error instanceof ProgramPolicyError) return { type: 'failed', error: error.message };
  if (error instanceof RunLimitError) return { type: 'failed', error: error.message, limits: error.limits };
  return { type: 'failed', error: error instanceof Error ? error.message : String(error) };
}

