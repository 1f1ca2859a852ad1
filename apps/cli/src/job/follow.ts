import { MAX_RUNS_PAGE, type EventItem, type JobStreamMessage, type JobView } from '@fleettrace/contracts';
import type { ApiClient } from '../api/client';
import { jobStream } from '../api/job-stream';
import type { Io } from '../io';
import { ProgressReporter, progressText } from '../views/progress';
import { LiveJob } from './live-job';
import { jobProgress, PHASE_OF } from './phases';

/** How often a terminal's progress line is redrawn between messages: the spinner and the clock move on. */
const REDRAW_MS = 250;
/**
 * At most one fetch of the job's view (for ended runs' counters) this often: a 1,000-host job's runs
 * end within a second or two, and a fetch for each (every run, ~0.5 MB) made the CLI fall behind
 * its stream. The view fetched at the end has every counter anyway.
 */
const ABSORB_MS = 1000;

type Snapshot = Extract<JobStreamMessage, { event: 'snapshot' }>['data'];

export interface FollowOptions {
  /** The program as progress names it. */
  label: string;
  /** When the job's clock started for the elapsed time shown (its submission, as this host's clock saw it). */
  startedAtMs: number;
  reporter: ProgressReporter;
  /** Aborted: stop following and return the job as it stands. */
  stop?: AbortSignal;
  /** Events as the stream brings them; without it the stream is asked for none. */
  onEvents?: (items: readonly EventItem[]) => void;
  /** The lines to show live for a snapshot of the job's maps (a terminal only). */
  snapshotView?: (snapshot: Snapshot) => string[];
}

/**
 * Follows a job to its end on its event stream, with live progress on stderr: the phase counts,
 * events and lost events so far, and a note for each host whose run fails or is unsupported, with
 * the reason. Returns the job as the API has it at the end (or when `stop` aborted).
 */
export async function followJob(client: ApiClient, job: JobView, io: Io, options: FollowOptions): Promise<JobView> {
  const { reporter } = options;
  const live = new LiveJob(job);
  const noted = new Set<string>();
  const draw = (): void => {
    for (const run of live.runs) {
      const phase = PHASE_OF[run.state];
      if ((phase === 'failed' || phase === 'unsupported') && !noted.has(run.runId)) {
        noted.add(run.runId);
        reporter.note(`${run.hostId} ${run.state}${run.error ? `: ${run.error}` : ''}`);
      }
    }
    const elapsed = Math.max(0, (Date.now() - options.startedAtMs) / 1000);
    const progress = jobProgress(live.runs, live.eventsByHost);
    reporter.update(progressText(options.label, progress, Math.min(elapsed, job.durationSeconds), job.durationSeconds, io.stderr.color), JSON.stringify(progress.phases));
  };
  const ticker = io.stderr.isTTY ? setInterval(draw, REDRAW_MS) : undefined;
  const messages = jobStream(client, job.id, {
    query: options.onEvents ? {} : { events: 'false' },
    signal: options.stop,
    onDrop: (attempt, reason) => reporter.note(`the job's stream dropped (${reason}); resuming where it stood (attempt ${attempt})`),
  });
  let absorbedAt = 0;
  try {
    draw();
    for await (const message of messages) {
      const ended = live.apply(message);
      // The opening picture of a large job carries its first page of runs: the rest are paged in.
      if (message.event === 'job') await pageTheRest(client, job.id, message.data, live);
      // The stream does not carry counters: the lost events of a run that ended are in the job's view.
      if (ended.length > 0 && Date.now() - absorbedAt >= ABSORB_MS) {
        live.absorb(await client.job(job.id));
        absorbedAt = Date.now();
      }
      if (message.event === 'events') options.onEvents?.(message.data.items);
      if (message.event === 'snapshot' && options.snapshotView) reporter.setView(options.snapshotView(message.data));
      draw();
    }
    const final = await client.job(job.id);
    live.absorb(final);
    draw();
    return final;
  } finally {
    clearInterval(ticker);
  }
}

/** The runs of the stream's opening picture past its first page (an API from before it was paged sends them all, and no runsPage). */
async function pageTheRest(client: ApiClient, jobId: string, picture: Extract<JobStreamMessage, { event: 'job' }>['data'], live: LiveJob): Promise<void> {
  let cursor = (picture.runsPage as typeof picture.runsPage | undefined)?.nextCursor ?? null;
  while (cursor !== null) {
    const page = await client.runs(jobId, { cursor, limit: MAX_RUNS_PAGE });
    live.applyPage(page.items);
    cursor = page.nextCursor;
  }
}
