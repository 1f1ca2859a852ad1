import { VerifierError } from '@fleettrace/bpf-loader';
import { runCatalogProgram, UnsupportedProgramError } from './catalog-run';
import type { RunnerMessage, RunnerStart } from './protocol';

/**
 * The runner process: one run, then exit. Everything it loaded into the kernel is tied to its
 * file descriptors, so even a SIGKILL leaves no program, link or map behind.
 */
function send(message: RunnerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, () => resolve()));
}

let requestStop: () => void = () => {};
const stop = new Promise<void>((resolve) => (requestStop = resolve));
process.on('SIGTERM', () => requestStop());
process.on('SIGINT', () => requestStop());

process.once('message', async (start: RunnerStart) => {
  let pending = Promise.resolve();
  const queue = (message: RunnerMessage): void => {
    pending = pending.then(() => send(message));
  };
  try {
    await runCatalogProgram(start, queue, stop);
  } catch (error) {
    queue(describeFailure(error));
  }
  await pending;
  process.disconnect();
  // Nothing of the run may keep this process alive once it has reported.
  process.exit(0);
});

function describeFailure(error: unknown): RunnerMessage {
  if (error instanceof VerifierError) return { type: 'failed', error: `verifier rejected the program: ${error.message}`, verifierLog: error.log };
  if (error instanceof UnsupportedProgramError) return { type: 'failed', error: error.message, unsupported: true };
  return { type: 'failed', error: error instanceof Error ? error.message : String(error) };
}
