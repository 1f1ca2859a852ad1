import { PROGRAM_OPTIONS } from '../program/program-options';
import type { OptionSpec } from '../spec';

/**
 * The flags that describe a job: what runs (program-options.ts), where (targets), how it rolls out,
 * for how long, and how often its maps are read while it goes on. `run` and `schedules create`
 * both take them, parsed by job-flags.ts; specs only here, so help and completion load no parser.
 */

export const TARGET_OPTIONS: readonly OptionSpec[] = [
  { name: 'hosts', argument: 'HOSTS', description: 'run on these hosts, comma-separated ids or names (default: every online host)' },
  { name: 'selector', shorthand: 'l', argument: 'SELECTOR', description: "only hosts matching all these terms: 'tier=web,zone in (a,b),!canary,kernel>=6.1'" },
  { name: 'sample', argument: 'N|P%', description: 'a seeded sample of the matching hosts: a count (5) or a percent (10%, rounded up)' },
  { name: 'seed', argument: 'TEXT', description: 'the seed of --sample and of the rollout order: the same seed picks the same hosts' },
  { name: 'max-hosts', argument: 'N', description: 'at most N hosts, after the sample' },
];

export const ROLLOUT_OPTIONS: readonly OptionSpec[] = [
  { name: 'canary', argument: 'N', description: 'run on N hosts first; the others start once every canary traces (a failed canary cancels the job)' },
  { name: 'batch-size', argument: 'N', description: 'after the canaries, start the other hosts N at a time' },
  { name: 'batch-interval', argument: 'TIME', description: 'time between batches: 5s, 1m (default 0)' },
  { name: 'max-failures', argument: 'N|P%', description: 'cancel the hosts not started yet once more than N runs (or P% of the hosts) fail' },
];

export const DURATION_OPTION: OptionSpec = {
  name: 'duration',
  argument: 'TIME',
  description: 'how long the program traces: 10s, 2m, 1h (run: default 10s; local run: until Ctrl-C)',
};

export const INTERVAL_OPTION: OptionSpec = {
  name: 'interval',
  argument: 'TIME',
  description: 'read the histograms and counts every TIME while the program runs, and redraw them live on a terminal',
};

/** Every flag of a job, in the order help lists them. */
export const JOB_OPTIONS: readonly OptionSpec[] = [...PROGRAM_OPTIONS, ...TARGET_OPTIONS, ...ROLLOUT_OPTIONS, DURATION_OPTION, INTERVAL_OPTION];
