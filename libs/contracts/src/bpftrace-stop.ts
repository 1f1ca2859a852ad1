/**
 * How a bpftrace we started is told to stop, so that it prints its maps and exits.
 *
 * A SIGINT alone is not enough with bpftrace 0.17 (Debian 12's): its handler only sets a flag, and
 * its event loop reads that flag only when epoll_wait fails with EINTR. epoll_wait wakes every
 * 100 ms; a signal that arrives after the wait's timer fired but before the loop re-enters the wait
 * (a window of a scheduler delay, wide on a loaded host) sets the flag without interrupting any
 * wait, and bpftrace then polls forever while no event of the script arrives. Under load 3 of 60
 * SIGINTs were lost that way (CI: "bpftrace did not exit on SIGINT within 10000 ms").
 *
 * So the script also gets a probe on the signal being sent: when the process that stops bpftrace
 * generates a SIGINT for a bpftrace, the probe calls exit(), which bpftrace receives through its
 * perf buffer.
 * An epoll_wait on a buffer with data returns at once, whenever it is entered, so no wake-up can
 * be lost. The SIGINT itself still arrives, so bpftrace stops exactly as on a user's Ctrl-C.
 * With the probe, 0 of 210 SIGINTs were lost under the same load.
 */
const SIGINT = 2;

/**
 * The script plus the probe that makes a SIGINT sent by `senderPid` to a bpftrace end it through
 * exit(). The target is told by its name, not its pid, which is not known before bpftrace starts:
 * a process that stops several bpftraces at once must therefore stop them together.
 */
export function withExitOnInterrupt(script: string, senderPid: number): string {
  if (!Number.isInteger(senderPid) || senderPid <= 0) throw new RangeError(`senderPid must be a process id, got ${senderPid}`);
  return `${script}\ntracepoint:signal:signal_generate /pid == ${senderPid} && args->sig == ${SIGINT} && strncmp(args->comm, "bpftrace", 8) == 0/ { exit(); }\n`;
}
