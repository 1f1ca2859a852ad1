import type { JobView, RunPage } from './api';

/** Runs a job view carries (GET /v1/jobs/:id): bounds its body; the rest are paged from GET /v1/jobs/:id/runs. */
export const JOB_VIEW_RUNS = 100;
/** The largest page of runs GET /v1/jobs/:id/runs answers. */
export const MAX_RUNS_PAGE = 1000;

/**
 * A job view completed with the runs past its first page, fetched by `page` (GET /v1/jobs/:id/runs
 * with that cursor and `limit=MAX_RUNS_PAGE`), for clients that speak of every host of a job. Runs
 * paged in after the view was read may be a state further on, never an older one.
 */
export async function withEveryRun(job: JobView, page: (cursor: string) => Promise<RunPage>): Promise<JobView> {
  // An API from before runs were paged carries them all and no runsPage.
  let cursor = (job.runsPage as JobView['runsPage'] | undefined)?.nextCursor ?? null;
  if (cursor === null) return job;
  const runs = [...job.runs];
  while (cursor !== null) {
    const next: RunPage = await page(cursor);
    runs.push(...next.items);
    cursor = next.nextCursor;
  }
  return { ...job, runs, runsPage: { total: job.runsPage.total, nextCursor: null } };
}
