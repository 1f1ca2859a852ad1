import { FIELDS_OPTION, FORMAT_OPTION } from '../../options';
import type { CommandSpec } from '../../spec';

export const hostsCommand: CommandSpec = {
  name: 'hosts',
  description: 'The hosts of the fleet.',
  subcommands: [
    {
      name: 'ls',
      description: 'Every host that registered: online or not, kernel, labels, tools.',
      options: [
        { name: 'selector', shorthand: 'l', argument: 'SELECTOR', description: "only hosts matching all these terms: 'tier=web,kernel>=6.1' (as run --selector)" },
        FORMAT_OPTION,
        FIELDS_OPTION,
      ],
      load: async () => (await import('./ls')).ls,
    },
    {
      name: 'show',
      description: 'One host: its kernel capabilities, which programs it can run and why not, its recent runs (-o csv/ndjson: a row per program).',
      arguments: [{ name: 'id', required: true, description: 'the host id' }],
      options: [FORMAT_OPTION, FIELDS_OPTION],
      load: async () => (await import('./show')).show,
    },
    {
      name: 'bootstrap',
      description: 'Turns an SSH host into a daemon host (same id): a gateway installs the daemon, which enrols itself; waits until it registers.',
      arguments: [{ name: 'id', required: true, description: 'the SSH host id' }],
      options: [{ name: 'wait-seconds', argument: 'SECONDS', description: 'how long to wait for the daemon to register (default 120; 0 answers at once)' }, FORMAT_OPTION],
      load: async () => (await import('./daemon')).bootstrap,
    },
    {
      name: 'uninstall',
      description: "Removes a bootstrapped daemon (its unit or process, its files, its Redis user); the host is reached over SSH again.",
      arguments: [{ name: 'id', required: true, description: 'the SSH host id' }],
      options: [{ name: 'wait-seconds', argument: 'SECONDS', description: 'how long to wait for the removal (default 120; 0 answers at once)' }, FORMAT_OPTION],
      load: async () => (await import('./daemon')).uninstall,
    },
  ],
  examples: [
    { description: 'the web tier on new kernels', command: "fleettrace hosts ls --selector 'tier=web,kernel>=6.1'" },
    { description: 'why a program does not run on a host', command: 'fleettrace hosts show web-1' },
    { description: 'install the daemon on a host reached over SSH', command: 'fleettrace hosts bootstrap db-3' },
  ],
};
