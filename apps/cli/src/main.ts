#!/usr/bin/env node
import { runCli } from './cli';
import { ExitCode } from './errors';
import { processIo } from './io';

/**
 * The `fleettrace` binary. The one place that ends the process: commands return their exit code,
 * and once one has, nothing of it (a keep-alive socket, a timer) may keep the process waiting.
 */
try {
  process.exit(await runCli(process.argv.slice(2), processIo()));
} catch (error) {
  process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(ExitCode.error);
}
