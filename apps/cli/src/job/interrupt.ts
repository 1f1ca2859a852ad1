import type { Io } from '../io';

/**
 * The first Ctrl-C aborts the returned signal so the command can wind down and print what it has;
 * its handler is then removed, so a second Ctrl-C ends the process the usual way.
 */
export function interruptOnce(io: Io, onFirst: () => void = () => {}): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const release = io.onInterrupt(() => {
    release();
    onFirst();
    controller.abort();
  });
  return { signal: controller.signal, release };
}
