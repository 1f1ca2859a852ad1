import type { JobView } from '@fleettrace/contracts';
import type { ApiClient } from '../api/client';
import type { Io } from '../io';
import { ProgressReporter, progressText } from '../views/progress';
import { jobProgress, PHASE_OF } from './phases';
import { watchJob } from './watch';

/**
 * Follows a job to its end with live progress on stderr: the phase counts, events and lost events
 * so far, and a note for each host whose run fails or is unsupported, with the reason.
 */
/** `startedAtMs` is when the job's clock started for the elapsed time shown (its submission, as this host's clock saw it). */
export async function followJob(client: ApiClient, job: JobView, label: string, io: Io, signal: AbortSignal, startedAtMs: number): Promise<JobView> {
  const reporter = new ProgressReporter(io.stderr);
  const noted = new Set<string>();
  try {
    return await watchJob(
      client,
      job.id,
      ({ job: now, liveEvents }) => {
        for (const run of now.runs) {
          const phase = PHASE_OF[run.state];
          if ((phase === 'failed' || phase === 'unsupported') && !noted.has(run.id)) {
            noted.add(run.id);
            reporter.note(`${run.hostId} ${run.state}${run.error ? `: ${run.error}` : ''}`);
          }
        }
        const elapsed = Math.max(0, (Date.now() - startedAtMs) / 1000);
        const progress = jobProgress(now, liveEvents);
        reporter.update(progressText(label, progress, Math.min(elapsed, now.durationSeconds), now.durationSeconds, io.stderr.color), JSON.stringify(progress.phases));
      },
      signal,
    );
  } finally {
    reporter.finish();
  }
}
