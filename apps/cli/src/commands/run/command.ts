import { JOB_OPTIONS } from '../../job-request/job-options';
import { EVENTS_LIMIT_OPTION, RESULT_VIEW_OPTIONS } from '../../options';
import { PROGRAM_ARGUMENT } from '../../program/program-options';
import type { CommandSpec } from '../../spec';

export const runCommand: CommandSpec = {
  name: 'run',
  description:
    'Run a program on the fleet: progress and events live while it runs, then the merged result and a line per host. Ctrl-C cancels the job and prints what it had.',
  arguments: [PROGRAM_ARGUMENT],
  options: [
    ...JOB_OPTIONS,
    { name: 'dry-run', description: 'print which hosts would run it (and which cannot, and why); start nothing' },
    { name: 'detach', description: 'print the job id and return at once; follow it with `fleettrace jobs wait ID`' },
    ...RESULT_VIEW_OPTIONS,
    EVENTS_LIMIT_OPTION,
  ],
  examples: [
    { description: 'every exec on every host for 10 s', command: 'fleettrace run execsnoop' },
    { description: 'run-queue latency of the web tier on new kernels, redrawn every 2 s', command: "fleettrace run runqlat --selector 'tier=web,kernel>=6.1' --interval 2s --duration 30s" },
    { description: 'a tenth of the fleet, two canaries first', command: 'fleettrace run opensnoop --sample 10% --canary 2 --param pid=4242' },
    { description: 'which hosts would run it', command: "fleettrace run biolatency --selector 'zone in (a,b)' --dry-run" },
    { description: 'a bpftrace one-liner', command: "fleettrace run -e 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }'" },
    { description: 'a fleet-wide flame graph', command: 'fleettrace run profile --duration 30s --flamegraph cpu.svg' },
    { description: 'your own C program', command: 'fleettrace run --c lat.bpf.c --output hist=lat:us' },
  ],
  load: async () => (await import('./index')).run,
};
