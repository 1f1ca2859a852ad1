import type { SshSession } from './ssh/ssh-session';

/**
 * Killing what a run started on an SSH host, on the host itself. Dropping a run's channel ends its
 * command's input, and the command exits on that, but only if it runs: a stopped (SIGSTOP) or stuck
 * runner keeps its programs attached past its deadline, and the channel's `signal` request, which
 * would reach it, is refused for root logins (ssh-session.ts ExecChannel.kill). So each command a
 * run starts names itself first (ANNOUNCE_PROCESS), and an overrun run's process group is SIGKILLed
 * over a second channel (killRemoteGroup), once its process is known to still be the one that
 * announced itself: a pid reused since then is left alone.
 */

/** A process on a host as it announced itself: its pid, its process group and its start time (clock ticks after boot). */
export interface RemoteProcessId {
  pid: number;
  pgid: number;
  startTicks: string;
}

const ANNOUNCE_PREFIX = 'fleettrace-process';

/**
 * POSIX sh that writes `fleettrace-process <pid> <pgid> <start>` of the shell running it, as its
 * first line of output; `exec` after it keeps the pid, group and start time. The fields after the
 * command name's closing parenthesis are counted, so a name with spaces cannot shift them: the
 * state is the 3rd field of /proc/<pid>/stat, the process group the 5th, the start time the 22nd.
 * It sets the positional parameters: a script keeps what it needs of them before.
 */
export const ANNOUNCE_PROCESS = `stat=$(cat /proc/$$/stat) && stat=\${stat##*) } && set -- $stat && echo "${ANNOUNCE_PREFIX} $$ $3 \${20}"`;

/** The process a line announces, or undefined when the line is not an announcement. */
export function parseAnnouncement(line: string): RemoteProcessId | undefined {
  const match = new RegExp(`^${ANNOUNCE_PREFIX} (\\d+) (\\d+) (\\d+)$`).exec(line.trim());
  if (!match) return undefined;
  return { pid: Number(match[1]), pgid: Number(match[2]), startTicks: match[3]! };
}

/**
 * POSIX sh, argv `<pid> <pgid> <start>`: SIGKILLs the process group when the pid is still the
 * process that announced itself (the same start time), and exits 0 either way, with what it did
 * on stdout (`killed`, `gone`). dash's builtin kill takes a negative pid only after `--`.
 */
export const KILL_GROUP_SCRIPT = [
  'pid=$1 pgid=$2 start=$3',
  'stat=$(cat /proc/"$pid"/stat 2>/dev/null) || { echo gone; exit 0; }',
  'stat=${stat##*) }',
  'set -- $stat',
  '[ "${20}" = "$start" ] || { echo gone; exit 0; }',
  'kill -s KILL -- -"$pgid" 2>/dev/null || kill -s KILL "$pid" 2>/dev/null',
  'echo killed',
].join('\n');

/** How long the gateway keeps trying to reach a host to kill an overrun run's processes there. */
export const KILL_TRY_MS = 15_000;
const KILL_RETRY_MS = 1_000;

/**
 * SIGKILLs `target`'s process group on the host, over a channel of its own (a connection of its
 * own when the run's is gone: `connect` gives the host's, reconnecting), retried until it is done
 * or KILL_TRY_MS passed. Resolves with what happened; never throws: the run's end does not wait
 * on the host.
 */
export async function killRemoteGroup(connect: () => Promise<SshSession>, target: RemoteProcessId, log: (line: string) => void): Promise<'killed' | 'gone' | 'unreachable'> {
  const until = Date.now() + KILL_TRY_MS;
  let last = '';
  for (;;) {
    try {
      const session = await connect();
      const result = await session.run(['sh', '-c', KILL_GROUP_SCRIPT, 'fleettrace-kill', String(target.pid), String(target.pgid), target.startTicks]);
      const said = result.stdout.trim();
      if (result.code === 0 && (said === 'killed' || said === 'gone')) return said;
      last = `exit ${result.code}: ${result.stderr.trim().slice(0, 200)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() + KILL_RETRY_MS > until) {
      log(`could not kill process group ${target.pgid} (pid ${target.pid}) on the host within ${KILL_TRY_MS / 1000} s: ${last}`);
      return 'unreachable';
    }
    await new Promise((resolve) => setTimeout(resolve, KILL_RETRY_MS));
  }
}
