import { BOOTSTRAP_TOKEN_ID } from '@fleettrace/contracts';
import { withClient } from '../../api/with-client';
import { ExitCode, UsageError } from '../../errors';
import type { CommandHandler } from '../../spec';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const revoke: CommandHandler = async (input, io) => {
  const id = input.args[0] ?? '';
  if (!UUID.test(id) && id !== BOOTSTRAP_TOKEN_ID) throw new UsageError(`token id must be a UUID like 0b6e3c1e-8f0a-4c2b-9a57-3d1f2e4b5c6d, got "${id}"`);
  await withClient(input, io, (client) => client.revokeToken(id.toLowerCase()));
  io.stdout.write(`revoked token ${id.toLowerCase()}\n`);
  return ExitCode.ok;
};
