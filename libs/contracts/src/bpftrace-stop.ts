/**
 * How a bpftrace we started is told to stop, so that it runs its END probes, prints its maps and
 * exits, as on a user's Ctrl-C. Not with a Ctrl-C's SIGINT, which bpftrace 0.17 (Debian 12's)
 * mishandles two ways:
 * - Its handler only sets a flag, which its event loop reads only when epoll_wait fails with EINTR.
 *   epoll_wait wakes every 100 ms; a SIGINT that arrives after the wait's timer fired but before
 *   the loop re-enters the wait (a window of a scheduler delay, wide on a loaded host) interrupts
 *   nothing, and bpftrace then polls forever while no event of the script arrives. Under load 3
 *   of 60 SIGINTs were lost that way (CI: "bpftrace did not exit on SIGINT within 10000 ms").
 * - A probe that calls exit() when the SIGINT is sent wakes it up (0 of 210 lost), but when the
 *   SIGINT's EINTR ends the loop before bpftrace reads the exit() event, it reads that event while
 *   draining END's output, and drops every event after an exit(): END's printf() and print()
 *   output went missing in 2 of 60 stops under load.
 *
 * So the script gets the probe that calls exit() when the stopping process signals a bpftrace,
 * and bpftrace is sent BPFTRACE_STOP_SIGNAL, SIGCONT: a signal it ignores, so nothing races the
 * exit() event, which bpftrace reads in its loop just as when a script calls exit(). Under the same
 * load, 0 of 60 stops lost END's output, each within 0.6 s.
 *
 * The probe may read one field of the tracepoint's args only: bpftrace 0.17 leaves
 * BPFTRACE_HAVE_BTF undefined when a probe reads args twice, which sends scripts such as Debian's
 * tcpaccept.bt down their `#include <net/sock.h>` path (kernel headers are rarely installed). It
 * therefore fires on any signal that process sends a bpftrace, which is this one, or the SIGKILL
 * that ends it anyway.
 */
export const BPFTRACE_STOP_SIGNAL = 'SIGCONT';

/**
 * The script plus the probe that ends a bpftrace through exit() when `senderPid` signals it
 * (send BPFTRACE_STOP_SIGNAL). The target is told by its name, not its pid, which is not known
 * before bpftrace starts: a process that stops (or kills) one of several bpftraces it runs at once
 * stops them all.
 */
export function withExitOnInterrupt(script: string, senderPid: number): string {
  if (!Number.isInteger(senderPid) || senderPid <= 0) throw new RangeError(`senderPid must be a process id, got ${senderPid}`);
  return `${script}\ntracepoint:signal:signal_generate /pid == ${senderPid} && strncmp(args->comm, "bpftrace", 8) == 0/ { exit(); }\n`;
}

/**
 * Set (true) on the lines of a bpftrace run's output that it printed once it exited (the blank
 * lines, then its maps) and that its typed outputs (hist, counts, stacks) hold too. A view that
 * draws those outputs leaves these lines out, so a map never shows twice. A map of strings or
 * stats() tuples has no typed output: its lines are not marked.
 */
export const AT_EXIT_FIELD = 'at_exit';
