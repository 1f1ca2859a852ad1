import { createInterface } from 'node:readline';
import { encodeLine, READY_LINE, STOP_LINE, type RunnerMessage, type RunnerStart } from '@fleettrace/runner';
import { ANNOUNCE_PROCESS, parseAnnouncement, type RemoteProcessId } from './remote-process';
import type { Semaphore } from './semaphore';
import type { RemoteCommand, SshSession } from './ssh/ssh-session';

/** How long a runner on a host waits for a run (when up, and after each run) before it exits. */
export const IDLE_RUNNER_MS = 10 * 60 * 1000;
/** A standby that is not up by then gives its boot slot back (a host that hangs must not hold the gateway's). */
const BOOT_SLOT_MAX_MS = 60_000;
const STDERR_TAIL_BYTES = 4096;

/** How a run's process ended, as far as the gateway saw it. */
export interface RemoteRunEnd {
  /** The run reported its `done` or `failed`. */
  reported: boolean;
  /** When the process ended before that: its exit code (null when the channel ended without one). */
  exitCode: number | null;
  /** The first line that is not the protocol: `wrote what is not its protocol: <line>`. */
  protocolError?: string;
  stderrTail: string;
}

/** How the gateway came by a run's runner: idle (up, waiting), booting (started ahead, not up yet), or cold (started for this run). */
export type RunnerSource = 'idle' | 'booting' | 'cold';

/**
 * One `node runner.mjs` on a host, over its own exec channel on the host's connection: booting until
 * it says READY_LINE, then idle, busy with a run, idle again when it says so after the run (it left
 * nothing in the kernel, libs/runner stdio-serve.ts), until it exits. At most one run at a time.
 */
export class RemoteRunnerProcess {
  private phase: 'booting' | 'idle' | 'busy' | 'gone' = 'booting';
  private readonly child: RemoteCommand;
  private stderr = '';
  /** The run in progress: where its lines go. */
  private run: { onLine: (line: string) => void; reported: boolean } | undefined;
  readonly spawnedAt = Date.now();
  /** When it first said it was up. */
  upAt: number | undefined;
  /** The host's process, as it announced itself before node started. */
  private announced: RemoteProcessId | undefined;
  /** After the channel and its output ended: every line was handled. */
  readonly ended: Promise<{ code: number | null }>;
  /** When it first said it can take a run, or ended before. */
  readonly up: Promise<void>;
  private markUp: () => void = () => {};

  constructor(
    session: SshSession,
    dir: string,
    /** Each time it says it can take a run (up, or after a run): the pool's. */
    private readonly onIdle: (runner: RemoteRunnerProcess) => void,
    /** When it ended; `afterRun`: in or right after a run (not idle, nor booting). */
    private readonly onGone: (runner: RemoteRunnerProcess, afterRun: boolean) => void,
  ) {
    // Announced first (pid, group, start time: what an overrun run's kill on the host needs), then
    // exec'd into node, which keeps all three.
    this.child = session.spawn(['sh', '-c', `runner=$0 idle=$1; ${ANNOUNCE_PROCESS} && exec node "$runner" --idle-exit-after-ms "$idle"`, `${dir}/runner.mjs`, String(IDLE_RUNNER_MS)]);
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-STDERR_TAIL_BYTES)));
    const lines = createInterface({ input: this.child.stdout, crlfDelay: Infinity });
    lines.on('line', (line) => this.line(line));
    const closed = new Promise<{ code: number | null }>((resolve) => {
      this.child.once('error', () => undefined);
      this.child.once('close', (code: number | null) => resolve({ code }));
    });
    const linesDone = new Promise<void>((resolve) => lines.once('close', () => resolve()));
    this.up = new Promise<void>((resolve) => (this.markUp = resolve));
    this.ended = Promise.all([closed, linesDone]).then(([exit]) => {
      const afterRun = this.phase === 'busy';
      this.phase = 'gone';
      this.markUp();
      this.onGone(this, afterRun);
      return exit;
    });
  }

  /** The host's process (what killRemoteGroup kills), once it announced itself. */
  get process(): RemoteProcessId | undefined {
    return this.announced;
  }

  get state(): 'booting' | 'idle' | 'busy' | 'gone' {
    return this.phase;
  }

  private line(line: string): void {
    if (this.announced === undefined) {
      this.announced = parseAnnouncement(line);
      if (this.announced) return;
    }
    if (line === READY_LINE) {
      this.upAt ??= Date.now();
      this.markUp();
      // Up while its first run's start already waits in its input: that run goes on.
      if (this.run && !this.run.reported) return;
      this.run = undefined;
      if (this.phase === 'gone') return;
      this.phase = 'idle';
      this.onIdle(this);
      return;
    }
    this.run?.onLine(line);
  }

  /**
   * Runs `start` in this process (it must be booting or idle): its reports go to `send` as they
   * come; resolves when the run reported its end, or when the process ended before.
   */
  execute(start: RunnerStart, hardLimitMs: number, stop: Promise<void>, send: (message: RunnerMessage) => void): Promise<RemoteRunEnd> {
    if (this.phase !== 'booting' && this.phase !== 'idle') throw new Error(`a ${this.phase} runner cannot take a run`);
    this.phase = 'busy';
    let protocolError: string | undefined;
    const run = {
      reported: false,
      onLine: (line: string): void => {
        if (run.reported || line === '') return;
        let message: RunnerMessage;
        try {
          message = JSON.parse(line) as RunnerMessage;
        } catch {
          protocolError ??= `wrote what is not its protocol: ${line.slice(0, 200)}`;
          return;
        }
        if (message.type === 'done' || message.type === 'failed') run.reported = true;
        send(message);
        if (run.reported) reportedNow();
      },
    };
    let reportedNow: () => void = () => {};
    const reported = new Promise<void>((resolve) => (reportedNow = resolve));
    this.run = run;
    this.child.stdin.write(encodeLine({ ...start, exitAfterMs: Math.max(1, Math.round(hardLimitMs)) }));
    // Only into this run: once it reported, the process may be serving the next one.
    void stop.then(() => {
      if (this.run === run && !run.reported && this.phase === 'busy') this.child.stdin.write(`${STOP_LINE}\n`);
    });
    return Promise.race([reported.then(() => null), this.ended]).then((exit) => ({
      reported: run.reported,
      exitCode: exit?.code ?? null,
      ...(protocolError ? { protocolError } : {}),
      stderrTail: this.stderr.trim().split('\n').slice(-3).join(' | '),
    }));
  }

  /** Ends an idle runner: its input ends, and it exits. */
  retire(): void {
    this.child.stdin.end();
  }

  /** Drops its channel: the host's process exits with its input, its programs with it. */
  kill(): void {
    this.child.kill();
  }
}

/** What a host's runners are kept by, the same for every host of a gateway. */
export interface RunnerPoolOptions {
  /**
   * Runners booting ahead of time at once, all hosts of the gateway together: after a job on many
   * hosts each starts its next runner, and so many node starts at once (on a host, and here when
   * the hosts are one machine) would slow the runs that do need one.
   */
  standbyBoots: Semaphore;
  /** Idle runners kept per host: as many as runs may go on there at once. */
  maxIdle: number;
}

/**
 * The runners of one host's SSH connection. A run takes an idle one, else the one booting ahead of
 * time, else starts one; a runner whose run left nothing behind says so and is kept for the next
 * run, so a host that keeps getting runs starts node rarely. One is started ahead of time (only
 * when none is idle or booting, and as the gateway's boot slots allow) after the host's first
 * probe, when a run found none up (once that run is running: not while it loads its programs),
 * and when a runner ended with its run. Runs one after another thus keep one runner busy; as
 * many as run at once are kept (maxIdle); none is started for a runner that is only busy.
 */
export class HostRunners {
  private readonly idle: RemoteRunnerProcess[] = [];
  private booting: RemoteRunnerProcess | undefined;
  /** A standby is waiting for a boot slot. */
  private standbyQueued = false;

  constructor(
    private readonly session: SshSession,
    private readonly dir: string,
    private readonly options: RunnerPoolOptions,
  ) {}

  /** A runner for a run, and how it was come by. */
  take(): { runner: RemoteRunnerProcess; source: RunnerSource } {
    const idle = this.idle.pop();
    if (idle) return { runner: idle, source: 'idle' };
    const booting = this.booting;
    this.booting = undefined;
    if (booting && booting.state === 'booting') return { runner: booting, source: 'booting' };
    return { runner: this.spawn(), source: 'cold' };
  }

  /** Starts a runner ahead of time if none is idle or booting (see the class). */
  replenish(): void {
    if (!this.wantsStandby() || this.standbyQueued) return;
    this.standbyQueued = true;
    void this.options.standbyBoots.run(async () => {
      this.standbyQueued = false;
      if (!this.wantsStandby()) return;
      const runner = this.spawn();
      this.booting = runner;
      // Its slot is held until it is up (or gone): that is what a boot costs.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([runner.up, new Promise<void>((resolve) => (timer = setTimeout(resolve, BOOT_SLOT_MAX_MS)))]);
      clearTimeout(timer);
    });
  }

  private wantsStandby(): boolean {
    return this.session.alive && this.idle.length === 0 && this.booting === undefined;
  }

  private spawn(): RemoteRunnerProcess {
    return new RemoteRunnerProcess(this.session, this.dir, (runner) => this.becameIdle(runner), (runner, afterRun) => this.gone(runner, afterRun));
  }

  private becameIdle(runner: RemoteRunnerProcess): void {
    if (runner === this.booting) this.booting = undefined;
    if (this.idle.length >= this.options.maxIdle || !this.session.alive) {
      runner.retire();
      return;
    }
    this.idle.push(runner);
  }

  private gone(runner: RemoteRunnerProcess, afterRun: boolean): void {
    const at = this.idle.indexOf(runner);
    if (at >= 0) this.idle.splice(at, 1);
    if (this.booting === runner) this.booting = undefined;
    // Its run left something open, it reached its run count, or the run overran: the next run's is
    // started now. One that waited idle too long is not replaced: the host is quiet.
    if (afterRun) this.replenish();
  }
}

const pools = new WeakMap<SshSession, HostRunners>();

/** The runners of the host behind `session` (a new connection has new ones: the old ones ended with the old). */
export function hostRunners(session: SshSession, dir: string, options: RunnerPoolOptions): HostRunners {
  let pool = pools.get(session);
  if (!pool) {
    pool = new HostRunners(session, dir, options);
    pools.set(session, pool);
  }
  return pool;
}
