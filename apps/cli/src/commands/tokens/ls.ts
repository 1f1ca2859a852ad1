import type { TokenView } from '@fleettrace/contracts';
import { withClient } from '../../api/with-client';
import { ExitCode } from '../../errors';
import type { Dataset } from '../../output/dataset';
import { printData, printOptions, tableLines } from '../../output/printer';
import type { CommandHandler } from '../../spec';
import { ago } from '../../views/time';

export function tokensDataset(tokens: readonly TokenView[], now = Date.now()): Dataset {
  const rows = tokens.map((t) => ({
    id: t.id,
    name: t.name,
    scopes: t.scopes.join(','),
    hosts: t.hostSelector ?? '',
    state: t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) <= now ? 'expired' : 'active',
    created: ago(t.createdAt, now),
    expires: t.expiresAt ?? '',
    createdBy: t.createdBy,
    createdAt: t.createdAt,
    revokedAt: t.revokedAt,
  }));
  return { columns: ['id', 'name', 'scopes', 'hosts', 'state', 'created', 'expires'], rows };
}

export const ls: CommandHandler = async (input, io) => {
  const print = printOptions(input.options);
  const tokens = await withClient(input, io, (client) => client.tokens());
  await printData(io.stdout, print, tokens, tokensDataset(tokens), (chosen) => (tokens.length === 0 ? ['no tokens'] : tableLines(chosen, io.stdout.color)));
  return ExitCode.ok;
};
