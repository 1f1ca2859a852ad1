import { API_SCOPES } from '@fleettrace/contracts';
import { withClient } from '../../api/with-client';
import { ExitCode, UsageError } from '../../errors';
import { printData, printOptions } from '../../output/printer';
import { parseDuration } from '../../program/duration';
import type { CommandHandler } from '../../spec';
import { tokensDataset } from './ls';

/** `--expires 30d` (that long from now) or a time (`2026-12-31T00:00:00Z`), as the API's ISO form. */
export function expiresFlag(text: string, now = Date.now()): string {
  const days = /^(\d+)d$/.exec(text.trim());
  if (days) return new Date(now + Number(days[1]) * 86_400_000).toISOString();
  if (/^\d+[hms]/.test(text.trim())) return new Date(now + parseDuration(text, '--expires') * 1000).toISOString();
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new UsageError(`--expires must be a time like 2026-12-31T00:00:00Z or a time from now like 30d, got "${text}"`);
  return new Date(at).toISOString();
}

export const create: CommandHandler = async (input, io) => {
  const { options } = input;
  const name = options.name === undefined ? '' : String(options.name).trim();
  if (name === '' || name.length > 128) throw new UsageError('tokens create needs --name, 1 to 128 characters');
  const scopes = ([] as unknown[]).concat(options.scope ?? []).map(String);
  if (scopes.length === 0) throw new UsageError(`tokens create needs at least one --scope: ${API_SCOPES.join(', ')}`);
  const unknown = scopes.find((s) => !(API_SCOPES as readonly string[]).includes(s));
  if (unknown !== undefined) throw new UsageError(`--scope must be one of ${API_SCOPES.join(', ')}, got "${unknown}"`);
  const request = {
    name,
    scopes: scopes as (typeof API_SCOPES)[number][],
    ...(options.hostSelector !== undefined ? { hostSelector: String(options.hostSelector) } : {}),
    ...(options.expires !== undefined ? { expiresAt: expiresFlag(String(options.expires)) } : {}),
  };
  const token = await withClient(input, io, (client) => client.createToken(request));
  const print = printOptions(input.options);
  // The secret alone on stdout in the table view, so `$(fleettrace tokens create ...)` captures it; what it is goes to stderr.
  await printData(io.stdout, print, token, tokensDataset([token]), () => [token.secret]);
  if (print.format === 'table') io.stderr.write(`created token ${token.id} "${token.name}" (${token.scopes.join(', ')}); its secret is shown this once\n`);
  return ExitCode.ok;
};
