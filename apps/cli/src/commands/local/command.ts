import { RESULT_VIEW_OPTIONS } from '../../options';
import { PROGRAM_ARGUMENT, PROGRAM_OPTIONS } from '../../program/program-options';
import type { CommandSpec } from '../../spec';
import { DURATION_OPTION, INTERVAL_OPTION } from '../../job-request/job-options';

export const localCommand: CommandSpec = {
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
      // The one command that loads the BPF runner and its native loader (src/local/ alone may import it).
      load: async () => (await import('../../local/local-run-script')).loadLocalRun(),
    },
  ],
};
