#!/usr/bin/env node
import { runCli } from './cli';
import { COMMANDS } from './commands/index';
import { processIo } from './io';
import { takeDeferredCaCerts } from './api/deferred-ca';
import { runAsProcess } from './process-main';

/** The `fleettrace` binary (bin/fleettrace.mjs runs `fleettrace local ...` through local/local-entry.ts instead). */
await runAsProcess(async () => {
  takeDeferredCaCerts(process.env);
  return runCli(process.argv.slice(2), processIo(), COMMANDS);
});
