import { codeCacheDir } from '../code-cache/cache-files';
import { runCachedScript } from '../code-cache/cached-script';
import * as errors from '../errors';
import type { CommandHandler } from '../spec';
import type * as LocalScriptModule from './local-script';

/**
 * The bundle of `local run` (src/local/local-script.ts: run-local.ts and all it imports, the runner,
 * the catalog, zod; and the `local` command line), a CommonJS script beside the CLI's bundle, and
 * its sha256, written in by scripts/bundle.ts (which builds both at once); undefined when the CLI
 * runs from source (tests, tsx).
 */
declare const FLEETTRACE_LOCAL_RUN_SCRIPT: string | undefined;
declare const FLEETTRACE_LOCAL_RUN_SHA256: string | undefined;

/**
 * The id under which the local-run script requires src/errors.ts: it gets this bundle's module,
 * so the CliError it throws is the class cli.ts checks with instanceof (scripts/bundle.ts makes
 * every import of errors.ts in the script this require).
 */
export const SHARED_ERRORS_ID = 'fleettrace-cli:errors';

/** What the local-run script exports (its entry is local-script.ts). */
export type LocalScript = typeof LocalScriptModule;

/**
 * The local-run script, run from its file with a V8 code cache (code-cache/cached-script.ts): most
 * of what it loads is the runner and zod, compiled again at every start without one. Undefined from
 * source (tests, tsx): there is no script file then.
 */
export function loadLocalScript(): LocalScript | undefined {
  return typeof FLEETTRACE_LOCAL_RUN_SCRIPT === 'string' ? runLocalScript(FLEETTRACE_LOCAL_RUN_SCRIPT) : undefined;
}

function runLocalScript(file: string): LocalScript {
  const { exports } = runCachedScript(file, {
    cacheDir: codeCacheDir(process.env),
    ...(typeof FLEETTRACE_LOCAL_RUN_SHA256 === 'string' ? { sha256: FLEETTRACE_LOCAL_RUN_SHA256 } : {}),
    shared: { [SHARED_ERRORS_ID]: errors },
  });
  return exports as unknown as LocalScript;
}

/**
 * `local run`'s handler: from the local-run script when bundled, imported as any module from source.
 * The test is written out here, on the constant the build writes in, so that the bundle drops the
 * import of run-local.ts (the runner) rather than carrying it as chunks of its own.
 */
export async function loadLocalRun(): Promise<CommandHandler> {
  if (typeof FLEETTRACE_LOCAL_RUN_SCRIPT !== 'string') return (await import('./run-local')).localRun;
  return runLocalScript(FLEETTRACE_LOCAL_RUN_SCRIPT).localRun;
}
