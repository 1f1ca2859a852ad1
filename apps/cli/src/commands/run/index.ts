import { programLabel, type CreateJobRequest, type JobView } from '@fleettrace/contracts';
import { ApiError, type ApiClient } from '../../api/client';
import { withClient } from '../../api/with-client';
import { ExitCode, UsageError } from '../../errors';
import type { Io } from '../../io';
import { followJob } from '../../job/follow';
import { hostSummaries } from '../../job/host-summary';
import { interruptOnce } from '../../job/interrupt';
import { jobExitCode } from '../../job/outcome';
import { printDocument, printOptions } from '../../output/printer';
import { eventsLimitOf } from '../../api/events-limit';
import { printResults } from '../../output/results';
import { stacksFilesOf, wantsStacksFiles, writeStacksFiles } from '../../output/stacks-files';
import { unknownProgramError } from '../../program/catalog';
import { parseDuration } from '../../program/duration';
import { programFromFlags } from '../../program/program-flags';
import { checkStacksFiles } from '../../program/stacks-check';
import type { CommandHandler } from '../../spec';
import { buildTargets } from './targets';

/** A fleet run with no --duration traces for this long: the API needs a bound, and a first look needs no more. */
export const DEFAULT_RUN_SECONDS = 10;

async function submit(client: ApiClient, request: CreateJobRequest): Promise<JobView> {
  try {
    return await client.createJob(request);
  } catch (error) {
    // The API knows its catalog; the near matches come from ours.
    if (error instanceof ApiError && error.status === 400 && typeof request.program === 'string' && error.message.startsWith('unknown program')) {
      throw unknownProgramError(request.program);
    }
    throw error;
  }
}

export const run: CommandHandler = async (input, io: Io) => {
  const { options } = input;
  const print = printOptions(options);
  const { program, params } = programFromFlags(input, io.cwd, false);
  const targets = buildTargets(options);
  const durationSeconds = options.duration === undefined ? DEFAULT_RUN_SECONDS : parseDuration(String(options.duration));
  const eventsLimit = eventsLimitOf(options);
  const files = stacksFilesOf(options, io.cwd);
  checkStacksFiles(program, files);
  if (options.detach && (wantsStacksFiles(files) || options.fields !== undefined)) {
    throw new UsageError('--detach returns before there are results: drop --flamegraph, --pprof and --fields, and use `fleettrace jobs results ID` later');
  }

  return withClient(input, io, async (client) => {
    const submittedAt = Date.now();
    const job = await submit(client, { program, params, targets, durationSeconds });
    if (options.detach) {
      if (print.format === 'json' || print.format === 'yaml') await printDocument(io.stdout, print.format, job);
      else io.stdout.write(`${job.id}\n`);
      return ExitCode.ok;
    }
    const label = programLabel(program);
    io.stderr.write(`job ${job.id}: ${label} on ${job.runs.length} host${job.runs.length === 1 ? '' : 's'} for ${durationSeconds}s\n`);
    const interrupt = interruptOnce(io);
    let finished: JobView;
    try {
      finished = await followJob(client, job, label, io, interrupt.signal, submittedAt);
    } finally {
      interrupt.release();
    }
    const interrupted = interrupt.signal.aborted && finished.state !== 'completed';
    if (interrupted) {
      io.stderr.write(`stopped following job ${job.id}; it runs on until its duration ends (follow it: fleettrace jobs wait ${job.id}). Results so far:\n`);
    }
    const results = await client.results(job.id, eventsLimit);
    try {
      await printResults(io.stdout, print, { results, summaries: hostSummaries(finished), program });
    } catch (error) {
      if (error instanceof UsageError) throw new UsageError(`${error.message} (print them again: fleettrace jobs results ${job.id})`);
      throw error;
    }
    for (const note of writeStacksFiles(files, results, label, { startedAtMs: Date.parse(finished.createdAt), durationSeconds })) io.stderr.write(`${note}\n`);
    return interrupted ? ExitCode.interrupted : jobExitCode(finished);
  });
};
