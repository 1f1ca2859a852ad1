import { readFileSync } from 'node:fs';

/**
 * NODE_EXTRA_CA_CERTS makes node read and parse that file, with its own bundled roots, at every
 * start, before any JavaScript runs (~30-40 ms here), though only an https:// API ever needs them.
 * So bin/fleettrace.mjs's shell line starts node without it and hands the file over under this
 * name; an https transport adds the certificates itself (deferredCaOptions).
 */
export const DEFERRED_CA_ENV = 'FLEETTRACE_DEFERRED_CA_CERTS';

/** The file node was started without, for this process's https connections. */
let deferredFile: string | undefined;

/**
 * Called once at start: puts NODE_EXTRA_CA_CERTS back into the environment, so a process started
 * from here gets it as the user set it, and keeps the file for this process's https requests.
 */
export function takeDeferredCaCerts(env: NodeJS.ProcessEnv): void {
  const file = env[DEFERRED_CA_ENV];
  delete env[DEFERRED_CA_ENV];
  if (!file) return;
  env.NODE_EXTRA_CA_CERTS = file;
  deferredFile = file;
}

export interface CaOptions {
  ca?: string[];
}

/**
 * The trust node would have had with NODE_EXTRA_CA_CERTS: its bundled roots and the file's
 * certificates. A file that cannot be read is a warning, and the roots alone are trusted, as node
 * does at start.
 */
export function extraCaOptions(file: string, roots: readonly string[], warn: (line: string) => void): CaOptions {
  let extra: string;
  try {
    extra = readFileSync(file, 'utf8');
  } catch (error) {
    warn(`Warning: Ignoring extra certs from \`${file}\`, load failed: ${error instanceof Error ? error.message : String(error)}`);
    return {};
  }
  return { ca: [...roots, extra] };
}

/** TLS options for this process's https connections: none unless node was started without NODE_EXTRA_CA_CERTS. */
export async function deferredCaOptions(): Promise<CaOptions> {
  if (deferredFile === undefined) return {};
  const { rootCertificates } = await import('node:tls');
  return extraCaOptions(deferredFile, rootCertificates, (line) => process.stderr.write(`${line}\n`));
}
