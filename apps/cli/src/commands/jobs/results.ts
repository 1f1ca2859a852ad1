import { programLabel } from '@fleettrace/contracts';
import { ExitCode } from '../../errors';
import { hostSummaries } from '../../job/host-summary';
import { jobExitCode } from '../../job/outcome';
import { printOptions } from '../../output/printer';
import { eventsLimitOf } from '../../api/events-limit';
import { printResults } from '../../output/results';
import { stacksFilesOf, writeStacksFiles } from '../../output/stacks-files';
import type { CommandHandler } from '../../spec';
import { jobIdArgument } from './job-id';
import { withClient } from '../../api/with-client';

export const results: CommandHandler = async (input, io) => {
  const print = printOptions(input.options);
  const id = jobIdArgument(input.args);
  const eventsLimit = eventsLimitOf(input.options);
  const files = stacksFilesOf(input.options, io.cwd);
  return withClient(input, io, async (client) => {
    const [job, view] = await Promise.all([client.job(id), client.results(id, eventsLimit)]);
    if (job.state !== 'completed') io.stderr.write(`job ${id} is still running: these are its results so far\n`);
    await printResults(io.stdout, print, { results: view, summaries: hostSummaries(job), program: job.program });
    const notes = await writeStacksFiles(files, view, programLabel(job.program), { startedAtMs: Date.parse(job.createdAt), durationSeconds: job.durationSeconds });
    for (const note of notes) io.stderr.write(`${note}\n`);
    return job.state === 'completed' ? jobExitCode(job) : ExitCode.ok;
  });
};
