import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ProgramStats } from '@fleettrace/bpf-loader';
import { refusedSource, type BpftraceProgram } from '@fleettrace/contracts';
import { monotonicToEpochNs } from './boot-clock';
import { BPFTRACE_NOTIFY_PROBES_ATTACHED, BpftraceOutputParser, bpftraceErrors, PRINTF_OUTPUT } from './bpftrace-output';
import { withMapSnapshots } from './bpftrace-maps';
import { scopeScriptToCgroup } from './bpftrace-scope';
import { AT_EXIT_FIELD, BPFTRACE_START_ALLOWANCE_SECONDS, BPFTRACE_STOP_SIGNAL, withExitOnInterrupt } from '@fleettrace/contracts';
import { cgroupSubtreeIds } from './cgroup-subtree';
import { programStatsOfProcess } from './process-bpf-stats';
import type { RunnerStart } from './protocol';
import { StartAllowanceError, UnsupportedProgramError, type RunAdapter, type SessionContext } from './run-session';

/** Told to stop, bpftrace prints its maps and exits; without a known watchdog deadline it gets this long. */
const PRINT_GRACE_MS = 2_000;
/** Kept back from the watchdog's deadline for reporting after bpftrace has printed. */
const REPORT_MARGIN_MS = 500;

/**
 * How long bpftrace may take to print its maps once told to stop: all that is left before the daemon's
 * watchdog, less time to report. On a loaded host printing takes seconds, and a SIGKILL loses every map.
 */
export function printGraceMs(killAt: number | undefined, now: number): number {
  return killAt === undefined ? PRINT_GRACE_MS : Math.max(REPORT_MARGIN_MS, killAt - now - REPORT_MARGIN_MS);
}
export const PRINTF_TIME_FIELD = 'time_ns';

export class BpftraceFailedError extends Error {}

/** The host's bpftrace: $FLEETTRACE_BPFTRACE, else the first `bpftrace` on PATH; undefined if none. */
export function findBpftrace(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = env.FLEETTRACE_BPFTRACE
    ? [env.FLEETTRACE_BPFTRACE]
    : (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter).map((dir) => join(dir, 'bpftrace'));
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function findSetpriv(): string | undefined {
  return ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A bpftrace started for a run, wherever it runs: a child of this runner, or on a host over SSH. */
export interface BpftraceProcess {
  stdout: NodeJS.ReadableStream;
  stderr: NodeJS.ReadableStream;
  /** Settles when bpftrace is gone (with its exit code or signal); rejects if it could not be started. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Has it stop through its stop probe (withExitOnInterrupt): it runs END, prints its maps and exits. */
  stop(): void;
  /** Ends it at once; what it had not printed is lost. */
  kill(): void;
  readonly running: boolean;
  /** The run time of the BPF programs it holds so far, where this host can read them (a local child's fdinfo). */
  programStats?(): ProgramStats[];
}

/**
 * Where a run's bpftrace runs. `launch` starts `bpftrace -f json -e <script>`, with
 * BPFTRACE_NOTIFY_PROBES_ATTACHED set, where `script` is given the id of the process that will stop it,
 * to add the stop probe for that sender.
 */
export interface BpftraceLauncher {
  launch(script: (stopSenderPid: number) => string): Promise<BpftraceProcess>;
  /** Tells that host's kernel functions from user ones in stacks; by default this host's /proc/kallsyms. */
  isKernelFunction?: (name: string) => boolean;
}

/**
 * This host's bpftrace, as a child of the runner that dies with it (parent-death signal), so a
 * watchdog SIGKILL of the runner leaves no bpftrace and hence no BPF program behind.
 * Throws UnsupportedProgramError at once when the host cannot run it.
 */
export function localBpftrace(): BpftraceLauncher {
  const bpftrace = findBpftrace();
  if (!bpftrace) throw new UnsupportedProgramError('bpftrace is not installed on this host');
  // bpftrace holds the run's programs: it must die with this runner, and only setpriv can give it a
  // parent-death signal before it execs. Without it, no bpftrace run.
  const setpriv = findSetpriv();
  if (!setpriv) throw new UnsupportedProgramError('cannot run bpftrace here: setpriv (util-linux) is missing, so bpftrace could outlive its runner');
  return {
    async launch(script) {
      const child = spawn(setpriv, ['--pdeathsig', 'KILL', '--', bpftrace, '-f', 'json', '-e', script(process.pid)], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, [BPFTRACE_NOTIFY_PROBES_ATTACHED]: '1' },
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code, signal) => resolve({ code, signal }));
      });
      return {
        stdout: child.stdout!,
        stderr: child.stderr!,
        exited,
        stop: () => child.kill(BPFTRACE_STOP_SIGNAL),
        kill: () => child.kill('SIGKILL'),
        get running() {
          return child.exitCode === null && child.signalCode === null;
        },
        programStats: () => (child.pid === undefined ? [] : programStatsOfProcess(child.pid)),
      };
    },
  };
}

/**
 * A bpftrace script in a run session: its probe blocks are confined to the run's cgroup (see
 * bpftrace-scope.ts), the lines bpftrace prints stream as events of the `printf` output
 * (bpftrace-output.ts), and when the session detaches it is told to stop (withExitOnInterrupt): it
 * runs its END probes and prints its maps, which become hist / counts / stacks outputs, and lines
 * too, as bpftrace prints them at exit. Where bpftrace runs is the launcher's business: by default
 * a child of this runner (localBpftrace); the SSH gateway passes one that runs it on the host.
 *
 * The run's limits, as far as they can honestly apply to a program bpftrace loads itself: the
 * overhead budget from the run time of bpftrace's programs (their fdinfo, where the launcher can
 * read it), events per second on the printf lines in the runner, the entries cap on the maps
 * bpftrace prints. The map-memory limit does not apply: bpftrace sizes and creates its maps itself,
 * after the runner could have checked them.
 */
export function bpftraceAdapter(start: RunnerStart, program: BpftraceProgram, launcher: BpftraceLauncher = localBpftrace()): RunAdapter {
  const scope = start.cgroupId === null ? undefined : start.cgroupPath ? cgroupSubtreeIds(start.cgroupPath) : [start.cgroupId];
  const scoped = scope && scopeScriptToCgroup(program.script, scope);
  const script = scoped?.script ?? program.script;
  // Distinct, in the order they came: a helper error in a hot probe repeats at every event.
  const warnings = new Set<string>();
  const seenPrograms = new Map<number, ProgramStats>();
  const startAllowanceMs = start.startAllowanceMs ?? BPFTRACE_START_ALLOWANCE_SECONDS * 1000;

  let child: BpftraceProcess | undefined;
  let parser: BpftraceOutputParser | undefined;
  let stderr = '';
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = new Promise(() => {});
  let linesRead: Promise<void> = Promise.resolve();
  let attached: Promise<void> = new Promise(() => {});
  let probesAttached = false;
  let markEnded: () => void = () => {};
  const ended = new Promise<void>((resolve) => (markEnded = resolve));
  const timers: NodeJS.Timeout[] = [];
  const after = (ms: number): Promise<void> => new Promise((resolve) => timers.push(setTimeout(resolve, ms)));

  return {
    // bpftrace compiles with LLVM before it attaches: its start allowance (this host's, as the API's
    // deadlines give it), which the watchdog counts too; the duration runs from the moment it attached.
    attachTimeoutMs: startAllowanceMs,
    ended,
    async load(context: SessionContext) {
      // The API refuses these too; a host checks what it runs whoever queued it.
      const refusal = refusedSource(program.script, 'bpftrace');
      if (refusal) throw new BpftraceFailedError(`bpftrace script refused: ${refusal}`);
      const toEpoch = monotonicToEpochNs();
      const events = context.openEvents(PRINTF_OUTPUT, PRINTF_TIME_FIELD);
      const output = new BpftraceOutputParser(
        {
          onLine: (line, atExit) => {
            if (events.admit(1) > 0) events.add({ line, [PRINTF_TIME_FIELD]: toEpoch(process.hrtime.bigint().toString()), ...(atExit ? { [AT_EXIT_FIELD]: true } : {}) });
          },
          onWarning: (warning) => warnings.add(warning),
          onSnapshot: (outputs) => context.sendSnapshot(outputs),
        },
        { script: program.script, ...(launcher.isKernelFunction ? { isKernelFunction: launcher.isKernelFunction } : {}) },
      );
      parser = output;

      // Added after scoping: the stop probe fires in the process that stops bpftrace, which is in no
      // traced cgroup. Not -k (helper errors as warnings): bpftrace 0.17 then reports every delete()
      // of a missing key, as writeback.bt makes at each event, and sends an event from the probe for
      // each failing call. The snapshot probe too: it prints the maps, whichever task its timer interrupts.
      const snapshotted = start.snapshotSeconds === undefined ? script : withMapSnapshots(script, start.snapshotSeconds);
      const launched = await launcher.launch((senderPid) => withExitOnInterrupt(snapshotted, senderPid));
      child = launched;
      launched.stderr.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-16_384);
      });
      exited = launched.exited;
      void exited.then(markEnded, markEnded);
      let markAttached: () => void = () => {};
      attached = new Promise<void>((resolve) => (markAttached = resolve));
      // bpftrace's warnings on stderr say what it left out (a probe it could not attach, skipped) while
      // the run goes on; its notice that every probe is attached starts the run's duration.
      createInterface({ input: launched.stderr }).on('line', (line) => {
        if (line.trim() === BPFTRACE_NOTIFY_PROBES_ATTACHED) {
          probesAttached = true;
          markAttached();
        }
        if (line.includes('WARNING:')) warnings.add(line.trim());
      });
      const lines = createInterface({ input: launched.stdout });
      linesRead = new Promise<void>((resolve) => lines.once('close', () => resolve()));
      lines.on('line', (line) => output.feed(line));
      return { mapMemory: { notApplied: 'bpftrace creates and sizes its maps itself: their memory is not known before it loads them' } };
    },
    // Until attached: bpftrace compiles first and may fail (it exits), or be slow to start (the session caps it).
    attach: () => Promise.race([attached.then(() => 'attached' as const), exited.then(() => 'ended' as const)]),
    programStats: () => {
      // Cumulative, as the guard needs: a program bpftrace closed (it exited) keeps its last reading.
      for (const stats of child?.programStats?.() ?? []) seenPrograms.set(stats.id, stats);
      return [...seenPrograms.values()];
    },
    async detach(how) {
      if (how !== 'exited') {
        child!.stop();
        const printed = await Promise.race([exited.then(() => true), after(printGraceMs(start.killAt, Date.now())).then(() => false)]);
        if (!printed) child!.kill();
      }
      const exit = await exited;
      await linesRead;
      parser!.end(exit.code === 0);
    },
    async finish(how) {
      const exit = await exited;
      const output = parser!;
      if (!probesAttached) {
        const errors = bpftraceErrors(stderr) || output.otherLines.join('\n');
        if (how === 'stopped') throw new BpftraceFailedError('stopped before bpftrace attached its probes');
        if (how === 'elapsed') {
          throw new StartAllowanceError(`bpftrace did not compile and attach its probes within its start allowance (${Math.round(startAllowanceMs / 100) / 10} s)${errors ? `: ${errors}` : ''}`);
        }
        throw new BpftraceFailedError(`bpftrace rejected the script: ${errors || `exit code ${exit.code}`}`);
      }
      const errors = bpftraceErrors(stderr);
      if (exit.code !== 0 && exit.signal === null && how === 'exited' && errors) {
        throw new BpftraceFailedError(`bpftrace failed: ${errors}`);
      }
      return { outputs: output.outputs(), lostEvents: output.lostEvents, scope: scoped ? 'cgroup' : 'host', warnings: [...warnings] };
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      if (child?.running) {
        child.kill();
        await exited.catch(() => undefined);
      }
    },
  };
}
