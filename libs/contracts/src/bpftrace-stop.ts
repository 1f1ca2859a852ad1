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
 * generates a signal for a bpftrace, the probe calls exit(), which bpftrace receives through its
 * perf buffer. Any signal, not SIGINT alone: the probe may read one field of the tracepoint's
 * args only, since bpftrace 0.17 leaves BPFTRACE_HAVE_BTF undefined when a probe reads args twice,
 * which sends scripts such as Debian's tcpaccept.bt down their `#include <net/sock.h>` path (kernel
 * headers are rarely installed). The process that stops a bpftrace sends it nothing else but the
 * SIGKILL that ends it anyway.
 * An epoll_wait on a buffer with data returns at once, whenever it is entered, so no wake-up can
 * be lost. The SIGINT itself still arrives, so bpftrace stops exactly as on a user's Ctrl-C.
 * With the probe, 0 of 210 SIGINTs were lost under the same load.
 */
/**
 * The script plus the probe that makes a signal sent by `senderPid` to a bpftrace end it through
 * exit(). The target is told by its name, not its pid, which is not known before bpftrace starts:
 * a process that stops (or kills) one of several bpftraces it runs at once stops them all.
 */
export function withExitOnInterrupt(script: string, senderPid: number): string {
  if (!Number.isInteger(senderPid) || senderPid <= 0) throw new RangeError(`senderPid must be a process id, got ${senderPid}`);
  return `${script}\ntracepoint:signal:signal_generate /pid == ${senderPid} && strncmp(args->comm, "bpftrace", 8) == 0/ { exit(); }\n`;
}
