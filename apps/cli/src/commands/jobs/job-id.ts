import type { ArgumentSpec } from '../../spec';
import { UsageError } from '../../errors';

export const JOB_ID_ARGUMENT: ArgumentSpec = { name: 'id', required: true, description: 'the job id (a UUID, as `run` prints it)' };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function jobIdArgument(args: readonly string[]): string {
  const id = args[0] ?? '';
  if (!UUID.test(id)) throw new UsageError(`job id must be a UUID like 0b6e3c1e-8f0a-4c2b-9a57-3d1f2e4b5c6d, got "${id}"`);
  return id.toLowerCase();
}
