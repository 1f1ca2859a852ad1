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
