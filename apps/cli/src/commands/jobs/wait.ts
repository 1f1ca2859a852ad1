import { programLabel } from '@fleettrace/contracts';
import { ExitCode } from '../../errors';
import { followJob } from '../../job/follow';
import { interruptOnce } from '../../job/interrupt';
import { jobExitCode } from '../../job/outcome';
import { printOptions } from '../../output/printer';
import type { CommandHandler } from '../../spec';
import { jobIdArgument } from './job-id';
import { printJob } from './job-view';
import { withClient } from '../../api/with-client';

/** Follows the job to its end, then prints it; the exit code says whether every host succeeded. */
export const wait: CommandHandler = async (input, io) => {
  const print = printOptions(input.options);
  const id = jobIdArgument(input.args);
  return withClient(input, io, async (client) => {
    const job = await client.job(id);
    const interrupt = interruptOnce(io);
    try {
      const finished = await followJob(client, job, programLabel(job.program), io, interrupt.signal, Date.parse(job.createdAt));
      await printJob(io.stdout, print, finished);
      return finished.state === 'completed' ? jobExitCode(finished) : ExitCode.interrupted;
    } finally {
      interrupt.release();
    }
  });
};
