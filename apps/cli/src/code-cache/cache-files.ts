import { closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

/**
 * Where V8 code caches of the CLI's bundles are kept, and how they are read and written. The CLI
 * may run as root (`sudo fleettrace local run`), and a code cache is code V8 runs: a file another
 * user could have written or swapped must never be read. So the directory is the user's own
 * (`$XDG_CACHE_HOME/fleettrace/code-cache`, or `~/.cache/...`), created 0700, and it and the file
 * are each checked for their owner and mode before use; anything amiss means no cache, silently
 * (the bundle is compiled from source as without one).
 */

const GROUP_OR_OTHER_WRITABLE = 0o022;

/** The user's cache directory, or undefined when none can be made safe for this user. */
export function codeCacheDir(env: NodeJS.ProcessEnv, uid: number = process.geteuid?.() ?? -1): string | undefined {
  if (env.FLEETTRACE_CODE_CACHE === 'off' || uid < 0) return undefined;
  const xdg = env.XDG_CACHE_HOME;
  // A relative XDG_CACHE_HOME is invalid by the spec: ignored, as the spec says.
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache');
  const ours = join(base, 'fleettrace');
  const dir = join(ours, 'code-cache');
  // Checked before anything is created: root run by sudo with a user's HOME must not leave
  // root-owned directories in that user's home (nor use theirs).
  if (!ownedSafely(dirname(base), uid, true) || (existsSync(base) && !ownedSafely(base, uid, true))) return undefined;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    return undefined;
  }
  return ownedSafely(base, uid, true) && ownedSafely(ours, uid, false) && ownedSafely(dir, uid, false) ? dir : undefined;
}

/**
 * A real directory (not a symlink) of `uid`'s, or root's where `rootMayOwn` (a home or ~/.cache
 * made by an administrator), that no one else may write to: whoever may write to a directory may
 * swap what is in it.
 */
function ownedSafely(path: string, uid: number, rootMayOwn: boolean): boolean {
  try {
    const stat = lstatSync(path);
    return stat.isDirectory() && (stat.mode & GROUP_OR_OTHER_WRITABLE) === 0 && (stat.uid === uid || (rootMayOwn && stat.uid === 0));
  } catch {
    return false;
  }
}

/** A cache file's bytes, if it is a regular file of `uid`'s that no one else may write to; else undefined. */
export function readCacheFile(path: string, uid: number = process.geteuid?.() ?? -1): Buffer | undefined {
  let fd: number | undefined;
  try {
    // O_NOFOLLOW: a symlink planted in its place is refused, not followed.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.uid !== uid || (stat.mode & GROUP_OR_OTHER_WRITABLE) !== 0) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes a cache file (0600) through a new file renamed into place, so a reader never sees half of
 * one, and removes the other caches of the same bundle (`<prefix>*`: older builds, other node
 * versions) so the directory does not grow with each build. Failures are ignored: no cache is
 * only slower.
 */
export function writeCacheFile(path: string, data: Uint8Array, prefix: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      for (let written = 0; written < data.length; ) written += writeSync(fd, data, written);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
    const dir = dirname(path);
    for (const name of readdirSync(dir)) {
      if (name.startsWith(prefix) && join(dir, name) !== path && !name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
    }
  } catch {
    rmSync(temporary, { force: true });
  }
}
