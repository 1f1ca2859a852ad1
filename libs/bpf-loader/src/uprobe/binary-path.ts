// Which file a uprobe or USDT target names: a path, a shared library by name ("libc.so.6",
// "libc"), as the given process maps it or as the dynamic linker's cache lists it, or a program
// on PATH.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { NotFoundError } from '../errors';

let ldCache: Map<string, string> | undefined;

// soname → path for this machine's architecture, from `ldconfig -p`.
function ldconfigLibraries(): Map<string, string> {
  if (ldCache) return ldCache;
  ldCache = new Map();
  let text = '';
  for (const ldconfig of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    try {
      text = execFileSync(ldconfig, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      break;
    } catch {
      // try the next location
    }
  }
  const wantArch = process.arch === 'x64' ? 'x86-64' : process.arch === 'arm64' ? 'AArch64' : undefined;
  for (const line of text.split('\n')) {
    const m = /^\s+(\S+) \(([^)]*)\) => (\S+)$/.exec(line);
    if (!m) continue;
    if (wantArch && !m[2]!.includes(wantArch)) continue;
    if (!ldCache.has(m[1]!)) ldCache.set(m[1]!, m[3]!);
  }
  return ldCache;
}

// "libc" matches libc.so.6 and libc-2.36.so; "libc.so.6" matches exactly.
function libraryMatches(file: string, name: string): boolean {
  const base = file.slice(file.lastIndexOf('/') + 1);
  return base === name || base.startsWith(`${name}.so`) || base.startsWith(`${name}-`);
}

function fromProcessMaps(pid: number, name: string): string | undefined {
  let maps: string;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of maps.split('\n')) {
    const path = line.split(/\s+/).slice(5).join(' ');
    if (path.startsWith('/') && libraryMatches(path, name)) {
      // Paths in the process's mount namespace are reachable through its root.
      const viaRoot = `/proc/${pid}/root${path}`;
      return existsSync(path) ? path : viaRoot;
    }
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** An absolute path to the ELF file `binary` names (symlinks resolved). */
export function resolveBinary(binary: string, pid?: number): string {
  if (binary.includes('/')) {
    if (!existsSync(binary)) throw new NotFoundError('binary', binary, 'the file system', []);
    return realpathSync(binary);
  }
  if (pid !== undefined) {
    const mapped = fromProcessMaps(pid, binary);
    if (mapped) return mapped;
  }
  const libs = ldconfigLibraries();
  const exact = libs.get(binary);
  if (exact) return realpathSync(exact);
  for (const [soname, path] of libs) if (libraryMatches(soname, binary)) return realpathSync(path);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, binary))) return realpathSync(join(dir, binary));
  }
  throw new NotFoundError('binary', binary, 'the dynamic linker cache and PATH', []);
}
