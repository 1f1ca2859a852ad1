import { API_SCOPES } from '@fleettrace/contracts';
import { FIELDS_OPTION, FORMAT_OPTION } from '../../options';
import type { CommandSpec } from '../../spec';

export const tokensCommand: CommandSpec = {
  name: 'tokens',
  description: 'API tokens: each with its scopes, optionally limited to some hosts and an expiry. Needs an admin token.',
  subcommands: [
    {
      name: 'create',
      description: 'A new token. Its secret is printed once, to stdout: keep it, the API stores only a keyed hash.',
      options: [
        { name: 'name', argument: 'NAME', description: 'what the token is called (required)' },
        { name: 'scope', argument: 'SCOPE', repeatable: true, description: `a scope it holds (required, repeatable): ${API_SCOPES.join(', ')}` },
        { name: 'host-selector', argument: 'SELECTOR', description: 'limit it to the hosts this selector matches: "team=web"' },
        { name: 'expires', argument: 'TIME', description: 'when it stops working: 2026-12-31T00:00:00Z, or a time from now like 30d' },
        FORMAT_OPTION,
      ],
      examples: [{ description: 'a token for CI that may run catalog programs on the web hosts', command: 'fleettrace tokens create --name ci --scope jobs:catalog --scope jobs:read --host-selector tier=web --expires 90d' }],
      load: async () => (await import('./create')).create,
    },
    {
      name: 'ls',
      description: 'Every token, revoked ones included; never a secret.',
      options: [FORMAT_OPTION, FIELDS_OPTION],
      load: async () => (await import('./ls')).ls,
    },
    {
      name: 'revoke',
      description: 'Revoke a token: its next request gets 401. Revoking twice is harmless.',
      arguments: [{ name: 'id', required: true, description: 'the token id (a UUID, as `tokens ls` prints it)' }],
      load: async () => (await import('./revoke')).revoke,
    },
  ],
};
