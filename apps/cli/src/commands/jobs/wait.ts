import { programLabel } from '@fleettrace/contracts';
import { ExitCode } from '../../errors';
import { followJob } from '../../job/follow';
import { interruptOnce } from '../../job/interrupt';
import { warningLines } from '../../job/host-summary';
import { jobExitCode } from '../../job/outcome';
import { printOptions } from '../../output/printer';
import type { CommandHandler } from '../../spec';
import { ProgressReporter } from '../../views/progress';
import { jobIdArgument } from './job-id';
import { printJob } from './job-view';
import { withClient } from '../../api/with-client';

/**
 * Follows the job to its end, then prints it; the exit code says whether every host succeeded.
 * Ctrl-C only stops the waiting (130): the job is not this command's to cancel (`jobs cancel` is).
 */
export const wait: CommandHandler = async (input, io) => {
  const print = printOptions(input.options);
  const id = jobIdArgument(input.args);
  return withClient(input, io, async (client) => {
    const job = await client.job(id);
    const interrupt = interruptOnce(io);
    const reporter = new ProgressReporter(io.stderr);
    try {
      const finished = await followJob(client, job, io, { label: programLabel(job.program), startedAtMs: Date.parse(job.createdAt), reporter, stop: interrupt.signal });
      reporter.finish();
      await printJob(io.stdout, print, finished);
      for (const line of warningLines(finished)) io.stderr.write(`${line}\n`);
      return finished.state === 'completed' ? jobExitCode(finished) : ExitCode.interrupted;
    } finally {
      interrupt.release();
      reporter.finish();
    }
  });
};
