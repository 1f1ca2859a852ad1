#!/usr/bin/env node
import { runCli } from './cli';
import { ExitCode } from './errors';
import { processIo } from './io';
import { takeDeferredCaCerts } from './api/deferred-ca';

/** Resolves once everything written to the stream so far has left the process (a pipe may take it in pieces). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

/**
 * The `fleettrace` binary. The one place that ends the process: commands return their exit code,
 * and once one has, nothing of it (a keep-alive socket, a timer) may keep the process waiting;
 * only what it printed is waited for.
 */
async function main(): Promise<number> {
  takeDeferredCaCerts(process.env);
  try {
    return await runCli(process.argv.slice(2), processIo());
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return ExitCode.error;
  }
}

// A reader that went away (`fleettrace ... | head`) is not an error to report: stop quietly, as
// the writes that follow would fail the same way.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(ExitCode.ok);
  });
}

const code = await main();
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
