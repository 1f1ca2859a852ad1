// Runs one of the repository's TypeScript scripts in a guest kernel and returns the JSON report it
// prints last. tsx transpiles a script's imports on first use, ~40 s at the guest's speed and ~1 s
// here: the script is first imported once on this host (`--warm`: it must exit at once when given
// that argument) into a cache directory the guest copies into its own /tmp. The cache lives in the
// repository, not under /tmp: the guest mounts its own /tmp over the host's.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type GuestRunResult, runInGuest } from './run-in-guest';

export interface GuestScriptRun<Report> {
  report: Report;
  run: GuestRunResult;
}

export async function runScriptInGuest<Report>(options: {
  /** The repository's root: the guest's working directory. */
  repo: string;
  /** The script, relative to repo. */
  script: string;
  args: string[];
  timeoutMs: number;
  /** Extra node flags, e.g. --expose-gc. */
  nodeFlags?: string[];
}): Promise<GuestScriptRun<Report>> {
  const { repo, script, args, timeoutMs, nodeFlags = [] } = options;
  mkdirSync(join(repo, '.fleettrace/guest'), { recursive: true });
  const warm = mkdtempSync(join(repo, '.fleettrace/guest/tsx-warm-'));
  try {
    execFileSync(process.execPath, ['--import', 'tsx', script, '--warm'], { cwd: repo, env: { ...process.env, TMPDIR: warm }, stdio: 'pipe' });
    const run = await runInGuest({
      command: ['sh', '-c', 'cp -R "$1"/. /tmp/ && shift && exec "$@"', 'sh', warm, process.execPath, ...nodeFlags, '--import', 'tsx', script, ...args],
      cwd: repo,
      timeoutMs,
    });
    if (run.exitCode !== 0) {
      throw new Error(`${script} exited ${run.exitCode} in the guest:\n${run.stderr.slice(-4000)}\n--- console ---\n${run.consoleLog.slice(-2000)}`);
    }
    return { run, report: JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Report };
  } finally {
    rmSync(warm, { recursive: true, force: true });
  }
}
