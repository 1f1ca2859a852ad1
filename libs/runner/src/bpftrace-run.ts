import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { BpftraceProgram } from '@fleettrace/contracts';
import { monotonicToEpochNs } from './boot-clock';
import { BpftraceOutputParser, bpftraceErrors, PRINTF_OUTPUT } from './bpftrace-output';
import { withMapSnapshots } from './bpftrace-maps';
import { scopeScriptToCgroup } from './bpftrace-scope';
import { BPFTRACE_START_ALLOWANCE_SECONDS, BPFTRACE_STOP_SIGNAL, withExitOnInterrupt } from '@fleettrace/contracts';
import { cgroupSubtreeIds } from './cgroup-subtree';
import { UnsupportedProgramError } from './catalog-run';
import { EventBuffer } from './event-buffer';
import type { RunnerMessage, RunnerStart } from './protocol';

const EVENTS_FLUSH_AT = 500;
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
}

/**
 * Where a run's bpftrace runs. `launch` starts `bpftrace -f json -e <script>`, where `script` is
 * given the id of the process that will stop it, to add the stop probe for that sender.
 */
export interface BpftraceLauncher {
  launch(script: (stopSenderPid: number) => string): Promise<BpftraceProcess>;
  /** Tells that host's kernel functions from user ones in stacks; by default this host's /proc/kallsyms. */
  isKernelFunction?: (name: string) => boolean;
}

/**
 * This host's bpftrace, as a child of the runner that dies with it (parent-death signal).
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
      const child = spawn(setpriv, ['--pdeathsig', 'KILL', '--', bpftrace, '-f', 'json', '-e', script(process.pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
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
      };
    },
  };
}

/**
 * Runs a bpftrace script for the run's duration: its probe blocks are confined to the run's cgroup
 * (see bpftrace-scope.ts), the lines bpftrace prints stream as events of the `printf` output
 * (bpftrace-output.ts), and at the duration it is told to stop (withExitOnInterrupt): it runs its
 * END probes and prints its maps, which become hist / counts / stacks outputs, and lines too, as
 * bpftrace prints them at exit. Where bpftrace runs is the launcher's business: by default a child
 * of this runner (localBpftrace), which leaves no bpftrace and hence no BPF program behind when a
 * watchdog SIGKILLs the runner.
 */
export async function runBpftraceProgram(
  start: RunnerStart,
  program: BpftraceProgram,
  send: (message: RunnerMessage) => void,
  stop: Promise<void>,
  launcher: BpftraceLauncher = localBpftrace(),
): Promise<void> {
  const scope = start.cgroupId === null ? undefined : start.cgroupPath ? cgroupSubtreeIds(start.cgroupPath) : [start.cgroupId];
  const scoped = scope && scopeScriptToCgroup(program.script, scope);
  const script = scoped?.script ?? program.script;

  send({ type: 'state', state: 'loading' });
  const toEpoch = monotonicToEpochNs();
  const events = new EventBuffer(
    PRINTF_OUTPUT,
    start.maxEventsPerOutput,
    EVENTS_FLUSH_AT,
    (records) => send({ type: 'events', output: PRINTF_OUTPUT, timeField: PRINTF_TIME_FIELD, records }),
    start.eventsMaxDelayMs,
  );
  // Distinct, in the order they came: a helper error in a hot probe repeats at every event.
  const warnings = new Set<string>();
  const parser = new BpftraceOutputParser(
    {
      onLine: (line) => events.add({ line, [PRINTF_TIME_FIELD]: toEpoch(process.hrtime.bigint().toString()) }),
      onWarning: (warning) => warnings.add(warning),
      onSnapshot: (outputs) => send({ type: 'snapshot', outputs }),
    },
    { script: program.script, ...(launcher.isKernelFunction ? { isKernelFunction: launcher.isKernelFunction } : {}) },
  );

  // Added after scoping: the stop probe fires in this process, which is in no traced cgroup.
  // Not -k (helper errors as warnings): bpftrace 0.17 then reports every delete() of a missing key,
  // as writeback.bt makes at each event, and sends an event from the probe for each failing call.
  // The snapshot probe too: it prints the maps, whichever task its timer interrupts.
  const snapshotted = start.snapshotSeconds === undefined ? script : withMapSnapshots(script, start.snapshotSeconds);
  const child = await launcher.launch((senderPid) => withExitOnInterrupt(snapshotted, senderPid));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-16_384);
  });
  // bpftrace's warnings on stderr say what it left out (a probe it could not attach, skipped) while the run goes on.
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (line.includes('WARNING:')) warnings.add(line.trim());
  });
  const exited = child.exited;

  let markAttached: () => void = () => {};
  const attached = new Promise<void>((resolve) => (markAttached = resolve));
  const lines = createInterface({ input: child.stdout });
  const linesRead = new Promise<void>((resolve) => lines.once('close', () => resolve()));
  lines.on('line', (line) => {
    parser.feed(line);
    if (parser.attachedProbes !== undefined) markAttached();
  });

  const timers: NodeJS.Timeout[] = [];
  const after = (ms: number): Promise<void> => new Promise((resolve) => timers.push(setTimeout(resolve, ms)));
  const durationMs = start.durationSeconds * 1000;
  let ended: 'elapsed' | 'stopped' | 'exited' = 'exited';
  try {
    // Until attached: bpftrace may fail to compile (it exits), or be slow to start (capped by the
    // start allowance, which the daemon's watchdog and the API's reaper count as well); the
    // duration runs from the moment it attached.
    const first = await Promise.race([
      attached.then(() => 'attached' as const),
      exited.then(() => 'exited' as const),
      stop.then(() => 'stopped' as const),
      after(BPFTRACE_START_ALLOWANCE_SECONDS * 1000).then(() => 'elapsed' as const),
    ]);
    if (first === 'attached') {
      send({ type: 'state', state: 'running' });
      ended = await Promise.race([
        exited.then(() => 'exited' as const),
        stop.then(() => 'stopped' as const),
        after(durationMs).then(() => 'elapsed' as const),
      ]);
    } else if (first !== 'exited') ended = first;

    if (ended !== 'exited') {
      send({ type: 'state', state: 'draining' });
      child.stop();
      const printed = await Promise.race([exited.then(() => true), after(printGraceMs(start.killAt, Date.now())).then(() => false)]);
      if (!printed) child.kill();
    }
    const exit = await exited;
    await linesRead;
    parser.end(exit.code === 0);
    events.flush();

    if (parser.attachedProbes === undefined) {
      const errors = bpftraceErrors(stderr) || parser.otherLines.join('\n');
      if (ended === 'stopped') throw new BpftraceFailedError('stopped before bpftrace attached its probes');
      if (ended === 'elapsed') throw new BpftraceFailedError(`bpftrace did not attach its probes within its start allowance (${BPFTRACE_START_ALLOWANCE_SECONDS} s)${errors ? `: ${errors}` : ''}`);
      throw new BpftraceFailedError(`bpftrace rejected the script: ${errors || `exit code ${exit.code}`}`);
    }
    const errors = bpftraceErrors(stderr);
    if (exit.code !== 0 && exit.signal === null && ended === 'exited' && errors) {
      throw new BpftraceFailedError(`bpftrace failed: ${errors}`);
    }
    const summary = events.summary();
    send({
      type: 'done',
      outputs: parser.outputs(),
      events: [summary],
      counters: { events: summary.received, lostEvents: parser.lostEvents, droppedEvents: summary.dropped },
      stoppedEarly: ended === 'stopped',
      scope: scoped ? 'cgroup' : 'host',
      ...(warnings.size > 0 ? { warnings: [...warnings] } : {}),
    });
  } finally {
    for (const timer of timers) clearTimeout(timer);
    if (child.running) {
      child.kill();
      await exited.catch(() => undefined);
    }
  }
}
