import { RESULT_VIEW_OPTIONS } from '../../options';
import { PROGRAM_ARGUMENT, PROGRAM_OPTIONS } from '../../program/program-options';
import type { CommandSpec } from '../../spec';
import { DURATION_OPTION, INTERVAL_OPTION } from '../../job-request/job-options';

/**
 * The `local` command, given how `local run` gets its handler: the CLI's bundle loads it from the
 * local-run script (command.ts), and the script, which is that handler's bundle, has it at hand
 * (local/local-script.ts). Apart so that the script does not bundle the script's loader.
 */
export function localCommandWith(loadRun: NonNullable<CommandSpec['load']>): CommandSpec {
  return {
    name: 'local',
    description: 'Run on this host alone, with no API, Redis or PostgreSQL (needs root, like bpftrace).',
    subcommands: [
      {
        name: 'run',
        description: 'Run a program on this host through the same runner the daemons use, and print the same views. Ctrl-C ends it.',
        arguments: [PROGRAM_ARGUMENT],
        options: [...PROGRAM_OPTIONS, DURATION_OPTION, INTERVAL_OPTION, ...RESULT_VIEW_OPTIONS],
        examples: [
          { description: 'every exec on this host until Ctrl-C', command: 'sudo fleettrace local run execsnoop' },
          { description: 'run-queue latency for 10 s', command: 'sudo fleettrace local run runqlat --duration 10s' },
          { description: 'the same, the histogram redrawn every second while it runs', command: 'sudo fleettrace local run runqlat --duration 10s --interval 1s' },
          { description: 'a CPU flame graph of this host', command: 'sudo fleettrace local run profile --duration 30s --flamegraph cpu.svg' },
        ],
        load: loadRun,
      },
    ],
  };
}
