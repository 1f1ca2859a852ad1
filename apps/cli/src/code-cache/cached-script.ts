import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { readCacheFile, writeCacheFile } from './cache-files';

/** How the code cache served a load: used it, had none (and writes one), had one V8 refused (and replaces it), or no cache dir. */
export type CodeCacheOutcome = 'hit' | 'miss' | 'rejected' | 'off';

export interface CachedScriptOptions {
  /** The directory of caches (codeCacheDir), or undefined for none: the script is compiled from source. */
  cacheDir: string | undefined;
  /**
   * What the script's require() of these ids returns instead of a module of its own: the modules
   * the script shares with its loader (an error class checked with instanceof must be one class).
   */
  shared?: Readonly<Record<string, unknown>>;
  /**
   * The sha256 of the file, when its build wrote it down: hashing ~700 KB at each start costs
   * ~10 ms of CPU. Absent, the file is hashed here.
   */
  sha256?: string;
  /** When to write a new cache (given the writer); at the process's exit by default. */
  whenDone?: (write: () => void) => void;
}

export interface LoadedScript {
  exports: Record<string, unknown>;
  cache: CodeCacheOutcome;
}

/**
 * The key of a cache: V8 checks a cache's own version and flags, but of the source only its
 * length, so the key holds the hash of the bundle's bytes, with node's version and the architecture.
 */
function cacheKey(sourceSha256: string): string {
  return createHash('sha256').update(`${process.version}\0${process.arch}\0${process.versions.v8}\0${sourceSha256}`).digest('hex').slice(0, 32);
}

/**
 * Runs a CommonJS bundle (esbuild, format cjs) as node would require it, but compiled with a V8
 * code cache: the functions V8 compiled in an earlier run are not parsed and compiled again.
 * Node 20 has no compile cache of its own (module.enableCompileCache is Node 22), and V8's cache
 * is only offered for scripts (vm.Script `cachedData`), not ES modules: hence a CommonJS bundle.
 *
 * The cache is written when the process exits, so that it holds every function the run compiled,
 * not only those of the script's first evaluation: only a run without a usable cache pays for it.
 */
export function runCachedScript(file: string, options: CachedScriptOptions): LoadedScript {
  const source = readFileSync(file, 'utf8');
  // One bundle's caches share a prefix: a new one replaces the older ones (writeCacheFile). The
  // prefix names the bundle's path too, so two checkouts (or an installed CLI and a repository's)
  // each keep their own cache rather than evicting each other's at every alternate run.
  const prefix = `${basename(file)}-${createHash('sha256').update(file).digest('hex').slice(0, 8)}-`;
  const cachePath =
    options.cacheDir === undefined ? undefined : join(options.cacheDir, `${prefix}${cacheKey(options.sha256 ?? createHash('sha256').update(source).digest('hex'))}.v8cache`);
  const cachedData = cachePath === undefined ? undefined : readCacheFile(cachePath);
  // Node's own CommonJS wrapper, on a line of its own so the bundle's lines keep their numbers in stack traces.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {\n${source}\n})`, {
    filename: file,
    lineOffset: -1,
    ...(cachedData ? { cachedData } : {}),
  });
  const cache: CodeCacheOutcome = cachePath === undefined ? 'off' : !cachedData ? 'miss' : script.cachedDataRejected ? 'rejected' : 'hit';
  if (cachePath !== undefined && cache !== 'hit') {
    const whenDone = options.whenDone ?? ((write: () => void) => process.once('exit', write));
    whenDone(() => writeCacheFile(cachePath, script.createCachedData(), prefix));
  }

  const nodeRequire = createRequire(file);
  const shared = options.shared ?? {};
  const require = Object.assign((id: string): unknown => (Object.hasOwn(shared, id) ? shared[id] : nodeRequire(id)), nodeRequire);
  const module = { exports: {} as Record<string, unknown> };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, require, module, file, dirname(file));
  return { exports: module.exports, cache };
}
