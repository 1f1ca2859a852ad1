#!/usr/bin/env node
import { runCli } from './cli';
import { COMMANDS } from './commands/index';
import { processIo } from './io';
import { runAsProcess } from './process-main';

/** The `fleettrace` binary (bin/fleettrace.mjs runs `fleettrace local ...` through local/local-entry.ts instead). */
await runAsProcess(() => runCli(process.argv.slice(2), processIo(), COMMANDS));
