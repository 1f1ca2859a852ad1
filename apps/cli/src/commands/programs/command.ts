import { FIELDS_OPTION, FORMAT_OPTION } from '../../options';
import type { CommandSpec } from '../../spec';

export const programsCommand: CommandSpec = {
  name: 'programs',
  description: 'The catalog of programs the API knows, and which hosts can run each.',
  subcommands: [
    {
      name: 'ls',
      description: 'Every catalog program: what it traces, its outputs, on how many online hosts it runs.',
      options: [FORMAT_OPTION, FIELDS_OPTION],
      load: async () => (await import('./ls')).ls,
    },
    {
      name: 'show',
      description: 'One program: its parameters, outputs (kind, unit, OpenTelemetry name), kernel requirements, and the hosts that can run it.',
      arguments: [{ name: 'name', required: true, description: 'the catalog name, like runqlat' }],
      options: [FORMAT_OPTION, FIELDS_OPTION],
      load: async () => (await import('./show')).show,
    },
  ],
  examples: [{ description: 'the parameters of opensnoop, and where it runs', command: 'fleettrace programs show opensnoop' }],
};
