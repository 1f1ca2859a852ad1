import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { JobResultsView, StacksOutput } from '@fleettrace/contracts';
import { CliError } from '../errors';
import type { CommandInput } from '../spec';
import { flameGraphSvg } from '../views/flamegraph';

/** --flamegraph FILE and --pprof FILE: files made from a job's stacks output. */
export interface StacksFiles {
  flamegraph?: string;
  pprof?: string;
}

export function stacksFilesOf(options: CommandInput['options'], cwd: string): StacksFiles {
  return {
    ...(options.flamegraph !== undefined ? { flamegraph: resolve(cwd, String(options.flamegraph)) } : {}),
    ...(options.pprof !== undefined ? { pprof: resolve(cwd, String(options.pprof)) } : {}),
  };
}

export function wantsStacksFiles(files: StacksFiles): boolean {
  return files.flamegraph !== undefined || files.pprof !== undefined;
}

export interface StacksTiming {
  /** When the profile began, ms since the epoch. */
  startedAtMs?: number;
  durationSeconds?: number;
}

/**
 * Writes the flame graph and the pprof profile of the results' first stacks output (merged over
 * the fleet). Returns what to say on stderr about each file.
 */
export async function writeStacksFiles(files: StacksFiles, results: JobResultsView, title: string, timing: StacksTiming = {}): Promise<string[]> {
  if (!wantsStacksFiles(files)) return [];
  const stacks = results.merged.find((o): o is StacksOutput => o.kind === 'stacks');
  if (!stacks) {
    const outputs = results.merged.map((o) => `${o.name} (${o.kind})`).join(', ') || 'none';
    throw new CliError(`${files.flamegraph ? '--flamegraph' : '--pprof'} needs a stacks output; the results have ${outputs}`);
  }
  const total = stacks.entries.reduce((sum, e) => sum + e.value, 0);
  const notes: string[] = [];
  const write = (path: string, data: string | Buffer, what: string) => {
    try {
      writeFileSync(path, data);
    } catch (error) {
      throw new CliError(`cannot write ${path}: ${(error as Error).message}`);
    }
    notes.push(`wrote ${what} ${path} (${total.toLocaleString('en-US')} ${stacks.unit}, ${stacks.entries.length.toLocaleString('en-US')} stacks)`);
  };
  if (files.flamegraph) write(files.flamegraph, flameGraphSvg(stacks, { title: `${title}: ${stacks.name}` }), 'flame graph');
  if (files.pprof) {
    // Loaded only here: pprof-format and zlib are not paid for by every run that prints a view.
    const { stacksToPprof } = await import('@fleettrace/results/pprof');
    const pprof = stacksToPprof(stacks, {
      ...(timing.startedAtMs !== undefined ? { timeNanos: BigInt(timing.startedAtMs) * 1_000_000n } : {}),
      ...(timing.durationSeconds !== undefined ? { durationNanos: BigInt(timing.durationSeconds) * 1_000_000_000n } : {}),
    });
    write(files.pprof, pprof, 'pprof profile');
  }
  return notes;
}
