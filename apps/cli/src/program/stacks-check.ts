import type { ProgramSpec } from '@fleettrace/contracts';
import { UsageError } from '../errors';
import type { StacksFiles } from '../output/stacks-files';
import { getProgram } from './catalog';

/**
 * --flamegraph and --pprof need a stacks output. A catalog program says up front whether it has
 * one, so asking for a flame graph of execsnoop fails before anything runs; a bpftrace script or a
 * C program only shows it in its results.
 */
export function checkStacksFiles(program: ProgramSpec, files: StacksFiles): void {
  const flag = files.flamegraph ? '--flamegraph' : files.pprof ? '--pprof' : undefined;
  if (flag) checkStacksWanted(program, flag);
}

function checkStacksWanted(program: ProgramSpec, flag: string): void {
  if (typeof program !== 'string') {
    if (program.kind === 'c') throw new UsageError(`${flag} needs a stacks output; a --c program declares hist, counts and events only`);
    return;
  }
  const known = getProgram(program);
  if (known && !known.outputs.some((o) => o.kind === 'counts' && o.stacks !== undefined)) {
    throw new UsageError(`${flag} needs a program with a stacks output, like profile or offcputime; ${program} has none`);
  }
}
