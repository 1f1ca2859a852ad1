// The confinement helper ft-sandbox (native/sandbox/ft-sandbox.c), built beside the addon: how to
// find it and how to ask it to run a program confined. What it does is described in its source.
import { accessSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const candidates = ['Release', 'Debug'].map((config) => fileURLToPath(new URL(`../build/${config}/ft-sandbox`, import.meta.url)));

/** The helper's exit code when it refused to run the program (its one line on stderr says why). */
export const SANDBOX_REFUSED_EXIT_CODE = 126;
const REFUSAL_PREFIX = 'ft-sandbox: ';

/** How a program is to be confined. */
export interface Confinement {
  /** Run as this user (supplementary groups dropped); must not be uid or gid 0. Unset: as the caller. */
  user?: { uid: number; gid: number };
  /** Read and execute beneath these paths (directories or files); nothing else can be opened or run. */
  read: readonly string[];
  /** Create, write, truncate and remove regular files beneath these directories (and read them). */
  write: readonly string[];
  rlimits?: { cpuSeconds?: number; addressSpaceBytes?: number; fileSizeBytes?: number; openFiles?: number };
  /** SIGKILL the program when its parent (this process) dies. */
  parentDeathSignal?: boolean;
  /** Without Landlock in the kernel, run with the user switch and rlimits alone instead of refusing. */
  landlockOptional?: boolean;
}

/** The helper's path; throws listing every path tried when it was not built. */
export function sandboxHelperPath(): string {
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  throw new Error(
    `@fleettrace/bpf-loader: the sandbox helper ft-sandbox is not built (build it with \`npm run build -w @fleettrace/bpf-loader\`). Tried:\n${candidates.map((p) => `  ${p}`).join('\n')}`,
  );
}

/** [helper, args] that run `command args` (command: an absolute path) under `confinement`. */
export function confinedCommand(confinement: Confinement, command: string, args: readonly string[]): [string, string[]] {
  return [sandboxHelperPath(), sandboxArgs(confinement, command, args)];
}

/** The helper's arguments for `command args` under `confinement`. */
export function sandboxArgs(confinement: Confinement, command: string, args: readonly string[]): string[] {
  if (!command.startsWith('/')) throw new Error(`the sandbox helper runs a program by its absolute path, not ${command}`);
  const flags: string[] = [];
  if (confinement.user) flags.push('--user', `${confinement.user.uid}:${confinement.user.gid}`);
  for (const path of confinement.read) flags.push('--read', path);
  for (const path of confinement.write) flags.push('--write', path);
  const limits = confinement.rlimits ?? {};
  if (limits.cpuSeconds !== undefined) flags.push('--cpu', String(limits.cpuSeconds));
  if (limits.addressSpaceBytes !== undefined) flags.push('--as', String(limits.addressSpaceBytes));
  if (limits.fileSizeBytes !== undefined) flags.push('--fsize', String(limits.fileSizeBytes));
  if (limits.openFiles !== undefined) flags.push('--nofile', String(limits.openFiles));
  if (confinement.parentDeathSignal) flags.push('--pdeathsig');
  if (confinement.landlockOptional) flags.push('--landlock-optional');
  return [...flags, '--', command, ...args];
}

/** Why the helper refused to run the program, from its output and exit code; undefined when it ran it. */
export function sandboxRefusal(exitCode: number | null, output: string): string | undefined {
  if (exitCode !== SANDBOX_REFUSED_EXIT_CODE) return undefined;
  const line = output.split('\n').find((l) => l.startsWith(REFUSAL_PREFIX));
  return line?.slice(REFUSAL_PREFIX.length);
}

/** Whether a refusal is the kernel lacking Landlock (rather than a bad path or a failed user switch). */
export function isLandlockUnavailable(refusal: string): boolean {
  return refusal.startsWith('Landlock is unavailable');
}

/** The running kernel's Landlock ABI version (0 without Landlock, with the reason). */
export function landlockAbi(): { abi: number; reason?: string } {
  const result = spawnSync(sandboxHelperPath(), ['--abi'], { encoding: 'utf8' });
  const abi = Number(result.stdout.trim());
  const reason = result.stderr.split('\n').find((l) => l.startsWith(REFUSAL_PREFIX))?.slice(REFUSAL_PREFIX.length);
  return reason ? { abi, reason } : { abi };
}
