import type { BpftraceLauncher, BpftraceProcess } from '@fleettrace/runner';
import { BPFTRACE_NOTIFY_PROBES_ATTACHED, UnsupportedProgramError } from '@fleettrace/runner';
import { ANNOUNCE_PROCESS, killRemoteGroup, parseAnnouncement, type RemoteProcessId } from './remote-process';
import type { SshSession } from './ssh/ssh-session';

/**
 * bpftrace on a host over SSH, run by a constant POSIX sh script (no user input in it: the script
 * text comes over stdin, the limit as an argument quoted by shellCommand):
 * 1. it announces itself (remote-process.ts ANNOUNCE_PROCESS): its pid is the sender of the stop
 *    signal, which the gateway puts in the stop probe, and its process group (bpftrace's too) is
 *    what the gateway kills on the host when the run overruns (killRemoteGroup);
 * 2. reads the script (its length on a line, then that many bytes);
 * 3. starts `bpftrace -f json -e <script>` under `timeout -s KILL <limit>`, so the host ends it at
 *    duration + grace whatever happens to the connection, with BPFTRACE_NOTIFY_PROBES_ATTACHED set:
 *    the runner counts the run as running only once bpftrace says every probe is attached;
 * 4. waits for bpftrace to exit, while a watcher waits for the end of its stdin, which comes when
 *    the gateway stops the run, or when the SSH session ends (the gateway died, the connection
 *    broke): the watcher then has the script (USR1) send SIGCONT to its process group, from the
 *    script itself (a builtin kill in the trap: the sender the stop probe waits for; timeout runs in
 *    the foreground, so bpftrace is in that group; dash's kill takes no negative pid, hence 0), and
 *    bpftrace runs END, prints its maps and exits.
 * The script gives its own stdout and stderr away, so the channel's output is bpftrace's; it exits
 * with bpftrace's status. A background job's stdin is /dev/null unless redirected: hence fd 3.
 */
export const REMOTE_BPFTRACE_SCRIPT = [
  // The limit first: the announcement sets the positional parameters.
  'limit=$1',
  ANNOUNCE_PROCESS,
  'IFS= read -r length || exit 90',
  'script=$(head -c "$length"; echo x)',
  'script=${script%x}',
  "trap 'kill -s CONT 0' USR1",
  'exec 3<&0',
  `${BPFTRACE_NOTIFY_PROBES_ATTACHED}=1 timeout --foreground -s KILL "$limit" bpftrace -f json -e "$script" </dev/null 3<&- &`,
  'bt=$!',
  'exec >/dev/null 2>&1',
  '{ cat >/dev/null; kill -s USR1 $$; } <&3 &',
  'watcher=$!',
  'code=0',
  // wait returns early when the trap runs; a reaped bpftrace ends the loop.
  'while kill -0 "$bt" 2>/dev/null; do wait "$bt"; code=$?; done',
  'kill "$watcher" 2>/dev/null',
  'exit "$code"',
].join('\n');

/** What a bpftrace exit status of 126/127 means: the host has no bpftrace (or no timeout) to run. */
const NOT_FOUND = 127;

/** The host's kernel function names (text symbols of /proc/kallsyms), as the runner reads its own. */
export const KERNEL_FUNCTIONS_SCRIPT = "awk '$2 ~ /^[tTwW]$/ { print $3 }' /proc/kallsyms";

const kernelFunctions = new WeakMap<SshSession, Promise<ReadonlySet<string>>>();

/** Read once per connection, and only for a script with kernel stacks: it is megabytes. */
function hostKernelFunctions(session: SshSession): Promise<ReadonlySet<string>> {
  let names = kernelFunctions.get(session);
  if (!names) {
    names = session.run(['sh', '-c', KERNEL_FUNCTIONS_SCRIPT]).then((result) => new Set(result.stdout.split('\n').filter(Boolean)));
    kernelFunctions.set(session, names);
  }
  return names;
}

/**
 * `killed`: when it resolves, the wrapper's channel is dropped and its whole process group
 * (bpftrace too) is SIGKILLed on the host, over a connection from `connect` (killRemoteGroup).
 */
export function remoteBpftrace(
  session: SshSession,
  hardLimitSeconds: number,
  killed: Promise<void> = new Promise(() => {}),
  connect: () => Promise<SshSession> = () => Promise.resolve(session),
  log: (line: string) => void = () => {},
): BpftraceLauncher {
  // Stacks are told apart by the host's kernel functions, not this machine's.
  let names: ReadonlySet<string> = new Set();
  return {
    isKernelFunction: (name) => names.has(name),
    async launch(scriptFor) {
      // The script as it will run (with a stop probe for some sender): does it take kernel stacks?
      if (/\bkstack\b/.test(scriptFor(1))) names = await hostKernelFunctions(session);
      const child = session.spawn(['sh', '-c', REMOTE_BPFTRACE_SCRIPT, 'fleettrace-bpftrace', String(Math.max(1, Math.ceil(hardLimitSeconds)))]);
      // Still compiling, bpftrace has no stop probe to hear a stop: an overrun run is killed instead.
      let announced: RemoteProcessId | undefined;
      void killed.then(() => {
        child.kill();
        if (announced) void killRemoteGroup(connect, announced, log);
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code, signal) => resolve({ code, signal }));
      });
      const stdout = child.stdout;
      // The first line is the wrapper's announcement (its pid: the stop signal's sender); the rest is bpftrace's.
      const senderPid = await new Promise<number>((resolve, reject) => {
        let head = '';
        const onData = (chunk: Buffer): void => {
          head += chunk.toString('latin1');
          const newline = head.indexOf('\n');
          if (newline === -1) return;
          stdout.off('data', onData);
          stdout.pause();
          const rest = Buffer.from(head.slice(newline + 1), 'latin1');
          if (rest.length > 0) stdout.unshift(rest);
          announced = parseAnnouncement(head.slice(0, newline));
          if (announced) resolve(announced.pid);
          else reject(new Error(`the host's shell did not start the bpftrace wrapper: ${head.slice(0, 200)}`));
        };
        stdout.on('data', onData);
        exited.then(
          ({ code }) => reject(new Error(`the connection to ${session.address} ended before bpftrace started (exit ${code})`)),
          reject,
        );
      });
      const script = Buffer.from(scriptFor(senderPid));
      child.stdin.write(`${script.length}\n`);
      child.stdin.write(script);
      let stopped = false;
      const stop = (): void => {
        if (stopped) return;
        stopped = true;
        child.stdin.end();
      };
      const process: BpftraceProcess = {
        stdout,
        stderr: child.stderr,
        exited: exited.then((exit) => {
          if (exit.code === NOT_FOUND) throw new UnsupportedProgramError(`bpftrace is not installed on ${session.address}`);
          return exit;
        }),
        stop,
        kill: () => child.kill(),
        get running() {
          return child.exitCode === null && child.signalCode === null;
        },
      };
      return process;
    },
  };
}
