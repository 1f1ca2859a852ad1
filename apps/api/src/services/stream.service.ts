import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { JOB_VIEW_RUNS, type AggregateOutput, type JobStreamMessage, type OutputView } from '@fleettrace/contracts';
import { mergeOutputs } from '@fleettrace/results';
import { JobRepository } from '../repositories/job.repository';
import { RunRepository } from '../repositories/run.repository';
import { ResultRepository, type EventCursor } from '../repositories/result.repository';
import { JobNotificationRepository } from '../repositories/job-notification.repository';
import { JobViewRepository } from '../repositories/job-view.repository';
import { runsOverview } from '../dtos/job.dto';
import { countsView, histView } from '@fleettrace/results';
import { eventItem } from '../utils/output-views';

/** Where a stream stands: the last state change, event (of each events output) and snapshot it sent. */
interface StreamPosition {
  transition: number;
  events: Record<string, EventCursor>;
  /** Epoch ms of the newest snapshot sent. */
  snapshot: number;
}

export interface StreamMessage {
  /** The SSE id: the position after this message, for Last-Event-ID. */
  id: string;
  message: JobStreamMessage | { event: 'keepalive' };
}

/** Which events a stream sends, as the events endpoint filters them; every events output unless one is named. */
export interface StreamEventFilter {
  output?: string;
  host?: string;
  contains?: string;
  fields: Record<string, string>;
}

export interface StreamOptions {
  /** Send events as they arrive (default), filtered. */
  events: boolean;
  filter: StreamEventFilter;
  /** A Last-Event-ID: go on from there instead of starting over. */
  resumeFrom?: string;
  signal: AbortSignal;
}

const BATCH = 500;
/** Polled even without a notification: a NOTIFY can be missed when the LISTEN connection drops. */
const POLL_MS = 1000;
const KEEPALIVE_MS = 15_000;

/**
 * A job's live view: its runs' state changes in order, its events as they arrive, and the merged
 * latest snapshot of every host's maps, until the job completes. Woken by the job's notifications,
 * polling as a fallback; resumable from any message's id.
 */
@Injectable()
export class StreamService {
  constructor(
    @Inject(JobRepository) private readonly jobs: JobRepository,
    @Inject(JobViewRepository) private readonly jobViews: JobViewRepository,
    @Inject(RunRepository) private readonly runs: RunRepository,
    @Inject(ResultRepository) private readonly results: ResultRepository,
    @Inject(JobNotificationRepository) private readonly notifications: JobNotificationRepository,
  ) {}

  /** Checks the job and the resume position first (so a 404 or 400 can still be answered), then streams. */
  async open(jobId: string, options: StreamOptions): Promise<AsyncIterable<StreamMessage>> {
    if (!(await this.jobs.readAsOne((tx) => this.jobs.findById(jobId, tx)))) throw new NotFoundException(`job ${jobId} not found`);
    const resumed = options.resumeFrom === undefined ? undefined : decodePosition(options.resumeFrom);
    return this.messages(jobId, options, resumed);
  }

  private async *messages(jobId: string, options: StreamOptions, resumed: StreamPosition | undefined): AsyncGenerator<StreamMessage> {
    const position: StreamPosition = resumed ?? { transition: 0, events: {}, snapshot: 0 };
    let wake: () => void = () => {};
    let changed = true;
    const unsubscribe = await this.notifications.subscribe(jobId, () => {
      changed = true;
      wake();
    });
    const aborted = () => wake();
    options.signal.addEventListener('abort', aborted);
    try {
      if (!resumed) {
        // Changes up to now are in this picture: the stream goes on after them.
        position.transition = await this.runs.lastTransitionId(jobId);
        yield this.at(position, { event: 'job', data: await this.picture(jobId) });
      }
      let lastSent = Date.now();
      while (!options.signal.aborted) {
        changed = false;
        let progressed = false;
        for (const t of await this.runs.transitionsOf(jobId, position.transition, BATCH)) {
          position.transition = t.id;
          progressed = true;
          yield this.at(position, { event: 'state', data: { runId: t.runId, hostId: t.hostId, from: t.from, state: t.state, error: t.error, at: t.at.toISOString() } });
        }
        if (options.events) {
          const { output: named, host, contains, fields } = options.filter;
          for (const output of named ? [named] : await this.results.eventOutputsOf(jobId)) {
            const after = position.events[output];
            const rows = await this.results.eventsPage(jobId, { output, fields, limit: BATCH, ...(host ? { host } : {}), ...(contains ? { contains: { text: contains } } : {}), ...(after ? { after } : {}) });
            if (rows.length === 0) continue;
            const last = rows[rows.length - 1]!;
            position.events[output] = { ts: last.ts, host: last.host, seq: last.seq, idx: last.idx };
            progressed = true;
            yield this.at(position, { event: 'events', data: { items: rows.map(eventItem) } });
          }
        }
        const snapshots = await this.results.snapshotsOf(jobId);
        const newest = Math.max(0, ...snapshots.map((s) => s.at.getTime()));
        if (newest > position.snapshot) {
          position.snapshot = newest;
          progressed = true;
          yield this.at(position, { event: 'snapshot', data: { at: new Date(newest).toISOString(), hosts: snapshots.length, merged: mergedViews(snapshots.map((s) => s.outputs)) } });
        }
        if (progressed) lastSent = Date.now();
        if (!progressed && !changed) {
          const job = await this.jobs.readAsOne((tx) => this.jobs.findById(jobId, tx));
          // Completed and every change sent: nothing more will come.
          if (!job || job.state === 'completed') {
            const runStates = (await this.jobs.readAsOne((tx) => this.runs.stateCounts([jobId], tx))).get(jobId) ?? {};
            yield this.at(position, { event: 'end', data: { state: job?.state ?? 'completed', runStates } });
            return;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, POLL_MS).unref();
          });
          if (Date.now() - lastSent >= KEEPALIVE_MS) {
            lastSent = Date.now();
            yield { id: encodePosition(position), message: { event: 'keepalive' } };
          }
        }
      }
    } finally {
      options.signal.removeEventListener('abort', aborted);
      unsubscribe();
    }
  }

  private at(position: StreamPosition, message: JobStreamMessage): StreamMessage {
    return { id: encodePosition(position), message };
  }

  /**
   * The job as the stream opens: its counts and summary, and its first page of runs in compact form
   * (a 1,000-host job's every run made the opening message ~90 KB and its read a row per run); the
   * client pages the rest from runsPage.nextCursor (GET /v1/jobs/:id/runs).
   */
  private async picture(jobId: string): Promise<Extract<JobStreamMessage, { event: 'job' }>['data']> {
    const read = await this.jobViews.read(jobId, JOB_VIEW_RUNS + 1);
    if (!read) throw new NotFoundException(`job ${jobId} not found`);
    const { runStates, summary, firstRuns, runsPage } = runsOverview(read);
    return { state: read.job.state, runStates, summary, runs: firstRuns.map((r) => ({ runId: r.id, hostId: r.hostId, state: r.state })), runsPage };
  }
}

/** Each host's latest snapshot merged, with the views a person reads: percentiles, top counts. */
function mergedViews(perHost: ReadonlyArray<readonly AggregateOutput[]>): OutputView[] {
  return mergeOutputs(perHost, 0).flatMap((output): OutputView[] => {
    if (output.kind === 'hist') return [histView(output)];
    if (output.kind === 'counts') return [countsView(output, undefined, undefined, undefined)];
    if (output.kind === 'stacks') return [output];
    return [];
  });
}

function encodePosition(position: StreamPosition): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

function decodePosition(id: string): StreamPosition {
  try {
    const value = JSON.parse(Buffer.from(id, 'base64url').toString('utf8')) as StreamPosition;
    if (Number.isSafeInteger(value.transition) && Number.isFinite(value.snapshot) && typeof value.events === 'object' && value.events !== null) return value;
  } catch {
    // falls through
  }
  throw new BadRequestException('Last-Event-ID must be the id of a message of this stream');
}
