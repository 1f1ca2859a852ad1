import { EVENTS_LIMIT_OPTION, FIELDS_OPTION, FORMAT_OPTION, RESULT_VIEW_OPTIONS } from '../../options';
import type { CommandSpec } from '../../spec';
import { JOB_ID_ARGUMENT } from './job-id';
import { EVENTS_PAGE, JOBS_PAGE, pagingOptions } from './paging-options';

export const jobsCommand: CommandSpec = {
  name: 'jobs',
  description: 'Look at jobs: list them, their runs and timeline, their results and events; wait for one, cancel one, compare two.',
  subcommands: [
    {
      name: 'ls',
      description: 'Jobs, newest first, with how many runs are in each state.',
      options: [
        { name: 'state', argument: 'STATE', choices: ['running', 'completed'], description: 'only jobs in this state' },
        { name: 'program', argument: 'NAME', description: 'only jobs of this program (a catalog name, "bpftrace" or "c")' },
        { name: 'created-by', argument: 'TOKEN', description: 'only jobs started with this token' },
        { name: 'schedule', argument: 'ID', description: 'only jobs this schedule started' },
        { name: 'since', argument: 'TIME', description: 'only jobs created since TIME: 2026-12-04T10:00:00Z, or a time ago like 2h' },
        { name: 'until', argument: 'TIME', description: 'only jobs created before TIME' },
        ...pagingOptions('jobs', JOBS_PAGE.max, JOBS_PAGE.fallback),
        FORMAT_OPTION,
        FIELDS_OPTION,
      ],
      load: async () => (await import('./ls')).ls,
    },
    {
      name: 'show',
      description: 'The job, the state of its run on each host, its timeline and why runs failed.',
      arguments: [JOB_ID_ARGUMENT],
      options: [FORMAT_OPTION, FIELDS_OPTION],
      load: async () => (await import('./show')).show,
    },
    {
      name: 'wait',
      description: 'Wait for the job to end, with progress on stderr; exit 0 if every host succeeded, 3 if not (Ctrl-C: stop waiting, 130).',
      arguments: [JOB_ID_ARGUMENT],
      options: [FORMAT_OPTION, FIELDS_OPTION],
      load: async () => (await import('./wait')).wait,
    },
    {
      name: 'results',
      description: "The job's merged result and each host's, as `run` prints them.",
      arguments: [JOB_ID_ARGUMENT],
      options: [...RESULT_VIEW_OPTIONS, EVENTS_LIMIT_OPTION],
      load: async () => (await import('./results')).results,
    },
    {
      name: 'events',
      description: "The job's events in time order, filtered; -o ndjson streams every one of them.",
      arguments: [JOB_ID_ARGUMENT],
      options: [
        { name: 'host', argument: 'ID', description: 'only the events of this host' },
        { name: 'output', argument: 'NAME', description: 'the events output (needed when the program has several)' },
        { name: 'contains', argument: 'TEXT', description: 'only events with TEXT in a field' },
        { name: 'field', argument: 'NAME=VALUE', repeatable: true, description: 'only events whose field NAME is VALUE (repeatable): --field comm=nginx' },
        ...pagingOptions('events', EVENTS_PAGE.max, EVENTS_PAGE.fallback),
        FORMAT_OPTION,
        FIELDS_OPTION,
      ],
      load: async () => (await import('./events')).events,
    },
    {
      name: 'cancel',
      description: 'Cancel the job: its runs stop within a second and keep what they saw so far.',
      arguments: [JOB_ID_ARGUMENT],
      options: [{ name: 'reason', argument: 'TEXT', description: "why, for the job's timeline" }, FORMAT_OPTION],
      load: async () => (await import('./cancel')).cancel,
    },
    {
      name: 'compare',
      description: 'Two jobs of one program: percentile shifts, the counts that moved, differential stacks.',
      arguments: [
        { name: 'a', required: true, description: 'the job compared from (a UUID)' },
        { name: 'b', required: true, description: 'the job compared to' },
      ],
      options: [
        { name: 'top', argument: 'N', description: 'counts: the N keys that moved most (default 20)' },
        { name: 'diff-folded', argument: 'FILE', description: 'write the stacks as "stack A B" lines to FILE, for difffolded.pl / flamegraph.pl' },
        FORMAT_OPTION,
        FIELDS_OPTION,
      ],
      load: async () => (await import('./compare')).compare,
    },
  ],
  examples: [
    { description: 'start now, look later', command: 'id=$(fleettrace run runqlat --duration 1m --detach)' },
    { description: 'wait for it', command: 'fleettrace jobs wait $id' },
    { description: 'its histogram and percentiles', command: 'fleettrace jobs results $id' },
    { description: 'the running jobs of the last hour', command: 'fleettrace jobs ls --state running --since 1h' },
    { description: "one host's execs of nginx", command: 'fleettrace jobs events $id --host web-1 --field comm=nginx' },
    { description: 'before and after a deploy', command: 'fleettrace jobs compare $before $after --diff-folded diff.folded' },
  ],
};
