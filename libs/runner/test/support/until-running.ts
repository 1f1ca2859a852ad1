import { StopWaiting, waitFor } from '@fleettrace/infra/stack';
import type { RunnerMessage } from '../../src/protocol';

/** Waits until a runner reports `running` (its programs are attached); fails at once if it reports `failed`. */
export function untilRunning(messages: readonly RunnerMessage[], timeoutMs = 20_000): Promise<void> {
  return waitFor('the runner to report running', async () => {
    const failed = messages.find((m) => m.type === 'failed');
    if (failed) throw new StopWaiting(`the runner failed: ${JSON.stringify(failed)}`);
    return messages.some((m) => m.type === 'state' && m.state === 'running');
  }, timeoutMs, 20);
}
