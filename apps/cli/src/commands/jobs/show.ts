import { ExitCode } from '../../errors';
import { printOptions } from '../../output/printer';
import type { CommandHandler } from '../../spec';
import { jobIdArgument } from './job-id';
import { printJob } from './job-view';
import { withClient } from '../../api/with-client';

export const show: CommandHandler = async (input, io) => {
  const print = printOptions(input.options);
  const id = jobIdArgument(input.args);
  await withClient(input, io, async (client) => printJob(io.stdout, print, await client.job(id)));
  return ExitCode.ok;
};
