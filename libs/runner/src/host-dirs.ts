import { join } from 'node:path';

/**
 * Where fleettrace keeps files on a host, each set once here. Runs are root's business on a host
 * (they load BPF), so the defaults are system directories; tests and a developer's stack set the
 * variables.
 */

/** What can be rebuilt (minimized BTF, vmlinux.h, compiled C objects): $FLEETTRACE_CACHE_DIR, else /var/cache/fleettrace. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLEETTRACE_CACHE_DIR || '/var/cache/fleettrace';
}

/** What must survive a restart (runs a daemon had in progress): $FLEETTRACE_STATE_DIR, else /var/lib/fleettrace. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLEETTRACE_STATE_DIR || '/var/lib/fleettrace';
}

export function coreBtfCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'core-btf');
}
