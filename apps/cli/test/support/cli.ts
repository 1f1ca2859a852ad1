import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StopWaiting, waitFor } from '@fleettrace/infra/stack';

/** The real `fleettrace`: the npm bin, which runs the bundle `npm run build` made. */
export const CLI_BIN = fileURLToPath(new URL('../../bin/fleettrace.mjs', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../../dist/fleettrace.mjs', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A CLI process still running: what it printed so far, and its end. */
export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  done: Promise<CliResult>;
  /** Waits until stderr matches (progress lines: it is not a TTY, so each change is a line). */
  untilStderr(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/**
 * An environment for the CLI with nothing of the developer's own: an empty HOME (no profiles), no
 * FLEETTRACE_* variables, and a working directory outside the repository (no local.env), plus `env`.
 */
export function cliEnv(env: Record<string, string> = {}): { env: NodeJS.ProcessEnv; cwd: string } {
  const home = mkdtempSync(join(tmpdir(), 'ft-cli-home-'));
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('FLEETTRACE_') && key !== 'NO_COLOR' && key !== 'FORCE_COLOR'));
  return { env: { ...clean, HOME: home, ...env }, cwd: home };
}

export function apiEnv(url: string, token: string): { env: NodeJS.ProcessEnv; cwd: string } {
  return cliEnv({ FLEETTRACE_URL: url, FLEETTRACE_TOKEN: token });
}

/**
 * Starts `node bin/fleettrace.mjs args`; with `asCommand`, the bin itself, as a shell runs
 * `fleettrace` (its shell line, see bin/fleettrace.mjs, then node).
 */
export function startCli(args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd: string; asCommand?: boolean }): RunningCli {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run \`npm run build\` first`);
  const [command, argv] = options.asCommand ? [CLI_BIN, args] : [process.execPath, [CLI_BIN, ...args]];
  const child = spawn(command, argv, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    done,
    untilStderr: async (pattern, timeoutMs = 30_000) => {
      try {
        await waitFor(`fleettrace ${args.join(' ')} to print ${pattern} on stderr`, async () => {
          if (pattern.test(stderr)) return true;
          if (child.exitCode !== null) throw new StopWaiting(`fleettrace exited ${child.exitCode} first`);
          return false;
        }, timeoutMs, 50);
      } catch (error) {
        throw new Error(`${(error as Error).message}\nstderr so far:\n${stderr}\nstdout so far:\n${stdout}`);
      }
    },
  };
}

/** The id of the job a `fleettrace run` submitted, from the line it prints on stderr first. */
export async function submittedJobId(cli: RunningCli): Promise<string> {
  await cli.untilStderr(/^job [0-9a-f-]{36}: /);
  return /^job ([0-9a-f-]{36}): /.exec(cli.stderr())![1];
}

export function runCli(args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd: string }): Promise<CliResult> {
  return startCli(args, options).done;
}

/** runCli through the bin as a command, as a shell runs `fleettrace`. */
export function runCliCommand(args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd: string }): Promise<CliResult> {
  return startCli(args, { ...options, asCommand: true }).done;
}
