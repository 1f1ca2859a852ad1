import type { ArgumentSpec } from '../../spec';
import { UsageError } from '../../errors';

export const JOB_ID_ARGUMENT: ArgumentSpec = { name: 'id', required: true, description: 'the job id (a UUID, as `run` prints it)' };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The job id at `index` of the arguments; `name` says which one in the message when there are two. */
export function jobIdArgument(args: readonly string[], index = 0, name = 'job id'): string {
  const id = args[index] ?? '';
  if (!UUID.test(id)) throw new UsageError(`${name} must be a UUID like 0b6e3c1e-8f0a-4c2b-9a57-3d1f2e4b5c6d, got "${id}"`);
  return id.toLowerCase();
}
