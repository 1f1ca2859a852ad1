import { programLabel, type CreateJobInput, type EventItem, type EventRecord, type JobResultsView, type ProgramSpec } from '@fleettrace/contracts';
import { ApiError, type ApiClient } from '../../api/client';
import { eventsLimitOf } from '../../api/events-limit';
import { withClient } from '../../api/with-client';
import { ExitCode, UsageError } from '../../errors';
import type { Io } from '../../io';
import { followJob } from '../../job/follow';
import { hostSummaries, warningLines } from '../../job/host-summary';
import { interruptOnce } from '../../job/interrupt';
import { jobExitCode } from '../../job/outcome';
import { lateEventsNote, StreamedEvents } from '../../job/streamed-events';
import { jobRequestFromFlags } from '../../job-request/job-flags';
import { eventStreamFor, type EventStream } from '../../output/event-stream';
import { printDocument, printOptions } from '../../output/printer';
import { printResults } from '../../output/results';
import { stacksFilesOf, wantsStacksFiles, writeStacksFiles } from '../../output/stacks-files';
import { unknownProgramError } from '../../program/catalog';
import { checkStacksFiles } from '../../program/stacks-check';
import type { CommandHandler } from '../../spec';
import { EVENT_HOST_FIELD } from '../../views/events';
import { eventFieldsOf } from '../../program/event-fields';
import { ProgressReporter } from '../../views/progress';
import { snapshotLines } from '../../views/snapshot';
import { printPlan } from './plan';

/** What the job's timeline says of a Ctrl-C cancel (after "cancelled by <token>: "). */
const CTRL_C_REASON = 'Ctrl-C in fleettrace run';

/** The API knows its catalog; the near matches of a name it refused come from ours. */
async function asking<T>(request: CreateJobInput, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (error instanceof ApiError && error.status === 400 && typeof request.program === 'string' && error.message.startsWith('unknown program')) {
      throw unknownProgramError(request.program);
    }
    throw error;
  }
}

/** The stream's events as rows of the live tail: each record with the host it came from, as results have them. */
function liveEvents(stream: EventStream, program: ProgramSpec): (items: readonly EventItem[]) => void {
  return (items) => {
    const byOutput = new Map<string, EventRecord[]>();
    for (const item of items) {
      const records = byOutput.get(item.output) ?? [];
      records.push({ ...item.record, [EVENT_HOST_FIELD]: item.hostId });
      byOutput.set(item.output, records);
    }
    for (const [output, records] of byOutput) stream.add(output, eventFieldsOf(program, output).timeField, records);
  };
}

/** The events the stream passed over (see StreamedEvents), fetched per host and printed after the others. */
async function printLateEvents(client: ApiClient, jobId: string, streamed: StreamedEvents, results: JobResultsView, tail: (items: readonly EventItem[]) => void, io: Io): Promise<void> {
  const late: EventItem[] = [];
  for (const gap of streamed.gaps(results)) {
    const stored: EventItem[] = [];
    await client.eventLines(jobId, { host: gap.hostId, output: gap.output }, (line) => stored.push(JSON.parse(line) as EventItem));
    late.push(...streamed.unseen(stored));
  }
  if (late.length === 0) return;
  const note = lateEventsNote(late);
  if (note) io.stderr.write(`${note}\n`);
  tail(late.sort((a, b) => (BigInt(a.time) < BigInt(b.time) ? -1 : BigInt(a.time) > BigInt(b.time) ? 1 : 0)));
}

function checkFlags(options: Record<string, unknown>, stacksFiles: boolean): void {
  if (options.dryRun && options.detach) throw new UsageError('--dry-run starts nothing to detach from: give one of --dry-run and --detach');
  if (options.dryRun && (stacksFiles || options.eventsLimit !== undefined)) throw new UsageError('--dry-run prints a plan, not results: drop --flamegraph, --pprof and --events-limit');
  if (options.detach && (stacksFiles || options.fields !== undefined)) {
    throw new UsageError('--detach returns before there are results: drop --flamegraph, --pprof and --fields, and use `fleettrace jobs results ID` later');
  }
}

export const run: CommandHandler = async (input, io: Io) => {
  const { options } = input;
  const print = printOptions(options);
  const request = jobRequestFromFlags(input, io.cwd);
  const program = request.program as ProgramSpec;
  const eventsLimit = eventsLimitOf(options);
  const files = stacksFilesOf(options, io.cwd);
  checkStacksFiles(program, files);
  checkFlags(options, wantsStacksFiles(files));

  return withClient(input, io, async (client) => {
    if (options.dryRun) {
      await printPlan(io.stdout, print, await asking(request, () => client.planJob(request)));
      return ExitCode.ok;
    }
    const submittedAt = Date.now();
    const job = await asking(request, () => client.createJob(request));
    if (options.detach) {
      if (print.format === 'json' || print.format === 'yaml') await printDocument(io.stdout, print.format, job);
      else io.stdout.write(`${job.id}\n`);
      return ExitCode.ok;
    }
    const label = programLabel(program);
    io.stderr.write(`job ${job.id}: ${label} on ${job.runs.length} host${job.runs.length === 1 ? '' : 's'} for ${job.durationSeconds}s\n`);
    const reporter = new ProgressReporter(io.stderr);
    const events = eventStreamFor(io.stdout, print, program, { hosts: true, write: (text) => reporter.print(io.stdout, text) });
    const tail = events ? liveEvents(events, program) : undefined;
    const streamed = new StreamedEvents();
    // The first Ctrl-C cancels the job on the server and keeps following it to its end, for the
    // partial result; a second one ends this process the usual way (the cancel is already sent).
    let cancelling: Promise<unknown> | undefined;
    const interrupt = interruptOnce(io, () => {
      reporter.note(`cancelling job ${job.id} (Ctrl-C again to quit without waiting for its partial result)`);
      cancelling = client.cancelJob(job.id, CTRL_C_REASON).catch((error: unknown) => error);
    });
    let finished;
    try {
      finished = await followJob(client, job, io, {
        label,
        startedAtMs: submittedAt,
        reporter,
        ...(tail
          ? {
              onEvents: (items: readonly EventItem[]) => {
                streamed.add(items);
                tail(items);
              },
            }
          : {}),
        ...(request.snapshotSeconds !== undefined ? { snapshotView: (snapshot) => snapshotLines(snapshot, io.stderr.color) } : {}),
      });
    } finally {
      interrupt.release();
      reporter.finish();
    }
    const refused = await cancelling;
    // A job that completed before the cancel reached it answers 409: nothing was cut short.
    if (refused instanceof Error && !(refused instanceof ApiError && refused.status === 409)) io.stderr.write(`could not cancel job ${job.id}: ${refused.message}\n`);
    if (interrupt.signal.aborted && finished.cancelled) io.stderr.write(`job ${job.id} cancelled: the results it had\n`);
    const results = await client.results(job.id, eventsLimit);
    if (tail) await printLateEvents(client, job.id, streamed, results, tail, io);
    try {
      await printResults(io.stdout, print, { results, summaries: hostSummaries(finished), program, eventsStreamed: events !== undefined });
    } catch (error) {
      if (error instanceof UsageError) throw new UsageError(`${error.message} (print them again: fleettrace jobs results ${job.id})`);
      throw error;
    }
    for (const note of await writeStacksFiles(files, results, label, { startedAtMs: Date.parse(finished.createdAt), durationSeconds: finished.durationSeconds })) io.stderr.write(`${note}\n`);
    for (const line of warningLines(finished)) io.stderr.write(`${line}\n`);
    return jobExitCode(finished);
  });
};
