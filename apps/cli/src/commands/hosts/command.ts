import { FIELDS_OPTION, FORMAT_OPTION } from '../../options';
import type { CommandSpec } from '../../spec';

export const hostsCommand: CommandSpec = {
  name: 'hosts',
  description: 'The hosts of the fleet.',
  subcommands: [
    {
      name: 'ls',
      description: 'Every host that registered: online or not, kernel, labels, tools.',
      options: [FORMAT_OPTION, FIELDS_OPTION],
      load: async () => (await import('./ls')).ls,
    },
  ],
};
