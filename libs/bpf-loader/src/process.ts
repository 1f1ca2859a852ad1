// A process holding BPF objects must not outlive the one that started it: the kernel frees the
// objects when their holder dies, so tying the holder's life to its parent's detaches everything.
import { constants } from 'node:os';
import { native } from './binding';

/**
 * Asks the kernel to send `signal` to this process when its parent dies (prctl PR_SET_PDEATHSIG).
 * A parent that died before the call is not covered: check `process.ppid` afterwards.
 */
export function setParentDeathSignal(signal: NodeJS.Signals): void {
  const number = constants.signals[signal];
  if (number === undefined) throw new TypeError(`unknown signal ${signal}`);
  native().setParentDeathSignal(number);
}

/**
 * Gives the C heap's free pages back to the kernel (glibc's malloc_trim). libbpf's start-up work
 * (parsing the kernel's BTF, loading probe programs) frees megabytes that glibc would otherwise
 * keep resident for the life of a long-running process. False where the C library cannot.
 */
export function releaseFreeNativeMemory(): boolean {
  return native().releaseFreeNativeMemory();
}
