import type { AggregateOutput } from '@fleettrace/contracts';
import type { RunnerMessage } from './protocol';

/**
 * Sends the run's aggregate outputs as they stand every `seconds` while it is attached (the job's
 * `snapshotSeconds`), so the API can show a fleet-wide histogram filling in. Reading maps does not
 * change them: the final outputs are read the same way after detach. A read that fails ends the
 * snapshots (the live view stops updating) without ending the run; the final read reports its error.
 * Returns the function that stops them.
 */
export function sendLiveSnapshots(seconds: number | undefined, read: () => AggregateOutput[], send: (message: RunnerMessage) => void): () => void {
  if (seconds === undefined) return () => {};
  const timer = setInterval(() => {
    try {
      send({ type: 'snapshot', outputs: read() });
    } catch {
      clearInterval(timer);
    }
  }, seconds * 1000);
  return () => clearInterval(timer);
}
