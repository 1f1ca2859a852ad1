import { EVENTS_LIMIT_OPTION, FIELDS_OPTION, FORMAT_OPTION, RESULT_VIEW_OPTIONS } from '../../options';
import type { CommandSpec } from '../../spec';
import { JOB_ID_ARGUMENT } from './job-id';

export const jobsCommand: CommandSpec = {
  name: 'jobs',
  description: 'Look at jobs: their runs, their results, or wait for one to end.',
  subcommands: [
    {
      name: 'show',
      description: 'The job and the state of its run on each host.',
      arguments: [JOB_ID_ARGUMENT],
      options: [FORMAT_OPTION, FIELDS_OPTION],
      load: async () => (await import('./show')).show,
    },
    {
      name: 'wait',
      description: 'Wait for the job to end, with progress on stderr; exit 0 if every host succeeded, 3 if not.',
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
  ],
  examples: [
    { description: 'start now, look later', command: 'id=$(fleettrace run runqlat --duration 1m --detach)' },
    { description: 'wait for it', command: 'fleettrace jobs wait $id' },
    { description: 'its histogram and percentiles', command: 'fleettrace jobs results $id' },
  ],
};
