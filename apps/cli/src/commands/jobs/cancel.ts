import { withClient } from '../../api/with-client';
import { ExitCode, UsageError } from '../../errors';
import { printDocument, printOptions } from '../../output/printer';
import type { CommandHandler } from '../../spec';
import { jobIdArgument } from './job-id';

/** The API's bound on a cancel reason. */
const MAX_REASON_LENGTH = 500;

/**
 * Cancels the job: its runs stop within a second and keep their partial results. Prints the
 * cancellation (-o json: the job as the API answered); a job that already completed is an error.
 */
export const cancel: CommandHandler = async (input, io) => {
  const print = printOptions(input.options);
  const id = jobIdArgument(input.args);
  const reason = input.options.reason as string | undefined;
  if (reason !== undefined && (reason.trim() === '' || reason.length > MAX_REASON_LENGTH)) throw new UsageError(`--reason must be 1 to ${MAX_REASON_LENGTH} characters`);
  const job = await withClient(input, io, (client) => client.cancelJob(id, reason));
  if (print.format === 'json' || print.format === 'yaml') await printDocument(io.stdout, print.format, job);
  else io.stdout.write(`job ${id}: ${job.cancelled?.reason ?? 'cancelled'}\n`);
  return ExitCode.ok;
};
