import { PROGRAM_ARGUMENT, PROGRAM_OPTIONS } from '../../program/program-options';
import { EVENTS_LIMIT_OPTION, RESULT_VIEW_OPTIONS } from '../../options';
import type { CommandSpec, OptionSpec } from '../../spec';
import { TARGET_OPTIONS } from './targets';

export const DURATION_OPTION: OptionSpec = {
  name: 'duration',
  argument: 'TIME',
  description: 'how long the program traces: 10s, 2m, 1h (run: default 10s; local run: until Ctrl-C)',
};

export const runCommand: CommandSpec = {
  name: 'run',
  description: 'Run a program on the fleet, show progress while it runs, then the merged result and a line per host.',
  arguments: [PROGRAM_ARGUMENT],
  options: [
    ...PROGRAM_OPTIONS,
    ...TARGET_OPTIONS,
    DURATION_OPTION,
    { name: 'detach', description: 'print the job id and return at once; follow it with `fleettrace jobs wait ID`' },
    ...RESULT_VIEW_OPTIONS,
    EVENTS_LIMIT_OPTION,
  ],
  examples: [
    { description: 'every exec on every host for 10 s', command: 'fleettrace run execsnoop' },
    { description: 'run-queue latency of two hosts, 30 s', command: 'fleettrace run runqlat --hosts web-1,web-2 --duration 30s' },
    { description: 'one process only', command: 'fleettrace run opensnoop --param pid=4242' },
    { description: 'a bpftrace one-liner', command: "fleettrace run -e 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }'" },
    { description: 'a fleet-wide flame graph', command: 'fleettrace run profile --duration 30s --flamegraph cpu.svg' },
    { description: 'your own C program', command: 'fleettrace run --c lat.bpf.c --output hist=lat:us' },
  ],
  load: async () => (await import('./index')).run,
};
