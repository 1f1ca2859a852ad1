import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { programSpecProblem, type ProgramSpec } from '@fleettrace/contracts';
import { CliError, UsageError } from '../errors';
import type { CommandInput } from '../spec';
import { parseCOutput, C_OUTPUT_SYNTAX } from './c-outputs';
import { getProgram, unknownProgramError } from './catalog';
import { parseParams } from './params';

export interface ProgramChoice {
  program: ProgramSpec;
  params: Record<string, unknown>;
}

function readSource(path: string, cwd: string, flag: string): string {
  try {
    return readFileSync(resolve(cwd, path), 'utf8');
  } catch (error) {
    throw new CliError(`${flag} ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

const asList = (value: unknown): string[] => (Array.isArray(value) ? value : typeof value === 'string' ? [value] : []);

/**
 * The program the flags name: a catalog program (with its --param values typed and checked), a
 * bpftrace script (-e or -f), or a C source (--c with its --output declarations). Exactly one.
 * `requireKnown` refuses a program the catalog here does not know (local runs); a fleet run lets
 * the API decide, since the server's catalog may be newer.
 */
export function programFromFlags(input: CommandInput, cwd: string, requireKnown: boolean): ProgramChoice {
  const { options } = input;
  const name = input.args[0];
  const given = [
    name !== undefined && 'a catalog program',
    options.expression !== undefined && '-e',
    options.file !== undefined && '-f',
    options.c !== undefined && '--c',
  ].filter((g): g is string => g !== false);
  if (given.length === 0) throw new UsageError('say what to run: a catalog program, -e SCRIPT, -f FILE or --c FILE');
  if (given.length > 1) throw new UsageError(`give one of a catalog program, -e, -f or --c, not ${given.join(' and ')}`);
  const params = asList(options.param);
  const outputs = asList(options.output);
  if (params.length > 0 && name === undefined) throw new UsageError('--param applies to catalog programs only');
  if (outputs.length > 0 && options.c === undefined) throw new UsageError('--output declares the outputs of a --c program');

  let choice: ProgramChoice;
  if (name !== undefined) {
    const known = getProgram(name);
    // A name that could never be a catalog name is a typo here too, whoever's catalog is newer.
    if (!known && (requireKnown || programSpecProblem(name))) throw unknownProgramError(name);
    choice = { program: name, params: parseParams(name, known, params) };
  } else if (options.expression !== undefined) {
    choice = { program: { kind: 'bpftrace', script: String(options.expression) }, params: {} };
  } else if (options.file !== undefined) {
    choice = { program: { kind: 'bpftrace', script: readSource(String(options.file), cwd, '-f') }, params: {} };
  } else {
    if (outputs.length === 0) throw new UsageError(`--c needs at least one --output: ${C_OUTPUT_SYNTAX}`);
    const source = readSource(String(options.c), cwd, '--c');
    choice = { program: { kind: 'c', source, outputs: outputs.map(parseCOutput) }, params: {} };
  }
  const problem = programSpecProblem(choice.program);
  if (problem) throw new UsageError(problem);
  return choice;
}
