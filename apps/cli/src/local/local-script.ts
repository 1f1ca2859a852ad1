import { runCli } from '../cli';
import { localCommandWith } from '../commands/local/spec';
import type { Io } from '../io';
import { localRun } from './run-local';

/**
 * The entry of the local-run script (dist/local-run.cjs, see local-run-script.ts): `local run`'s
 * handler, for the CLI's bundle, and the command line of `fleettrace local ...` parsed from the
 * same spec, for local-entry.ts, which runs it without loading the CLI's ES module bundle at all.
 * Only the `local` command is built: its help, usage errors and exit codes are the CLI's own.
 */
export { localRun };

const localCommand = localCommandWith(async () => localRun);

export function runLocalCli(argv: readonly string[], io: Io): Promise<number> {
  return runCli(argv, io, [localCommand]);
}
