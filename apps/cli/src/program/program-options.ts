import type { ArgumentSpec, OptionSpec } from '../spec';
import { C_OUTPUT_SYNTAX } from './c-outputs';

/** The ways to say what to run, shared by `run` and `local run` (parsed by program-flags.ts). */
export const PROGRAM_ARGUMENT: ArgumentSpec = { name: 'program', required: false, description: 'a catalog program, like execsnoop or runqlat' };

export const PROGRAM_OPTIONS: readonly OptionSpec[] = [
  { name: 'param', argument: 'KEY=VALUE', repeatable: true, description: 'a parameter of the catalog program (repeatable): --param pid=42' },
  { name: 'expression', shorthand: 'e', argument: 'SCRIPT', description: 'run this bpftrace script' },
  { name: 'file', shorthand: 'f', argument: 'FILE', description: 'run the bpftrace script in FILE' },
  { name: 'c', argument: 'FILE', description: 'compile and run the BPF C program in FILE (declare its maps with --output)' },
  { name: 'output', argument: 'DECL', repeatable: true, description: `an output of the --c program (repeatable): ${C_OUTPUT_SYNTAX}` },
];
