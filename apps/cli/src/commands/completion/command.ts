import type { CommandSpec } from '../../spec';

export const completionCommand: CommandSpec = {
  name: 'completion',
  description: 'Print the shell completion script for bash or zsh.',
  arguments: [{ name: 'shell', required: true, description: 'bash or zsh' }],
  examples: [
    { description: 'complete in this bash session', command: 'source <(fleettrace completion bash)' },
    { description: 'in every zsh session', command: 'fleettrace completion zsh > "${fpath[1]}/_fleettrace"' },
  ],
  load: async () => (await import('./index')).completion,
};
