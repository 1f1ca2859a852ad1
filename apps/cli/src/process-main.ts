import { takeDeferredCaCerts } from './api/deferred-ca';
import { ExitCode } from './errors';

/** Resolves once everything written to the stream so far has left the process (a pipe may take it in pieces). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

/**
 * Runs the CLI as this process, for both entries (main.ts, and local/local-entry.ts for `local`):
 * the one place that ends the process. Commands return their exit code, and once one has, nothing
 * of it (a keep-alive socket, a timer) may keep the process waiting; only what it printed is
 * waited for. A failure no command caught is its stack on stderr and exit 1.
 */
export async function runAsProcess(run: () => Promise<number>): Promise<never> {
  // NODE_EXTRA_CA_CERTS back in the environment of whatever this process starts (api/deferred-ca.ts).
  takeDeferredCaCerts(process.env);
  // A reader that went away (`fleettrace ... | head`) is not an error to report: stop quietly, as
  // the writes that follow would fail the same way.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(ExitCode.ok);
    });
  }
  let code: number;
  try {
    code = await run();
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    code = ExitCode.error;
  }
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}
