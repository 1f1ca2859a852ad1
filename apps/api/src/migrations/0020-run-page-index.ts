/**
 * A job's runs in page order (stage, host id, run id): the job view's first page and GET
 * /v1/jobs/:id/runs walk it and stop at the page's end. Without it, each read of a 1,000-host job's
 * view fetched all 1,000 runs and their hosts and sorted them to keep 101: 3-4 of the ~8 ms the
 * statement took in PostgreSQL under `npm run bench -- fleet --only requests` (auto_explain).
 */
export const runPageIndex = `
CREATE INDEX runs_page_by_job ON runs (job_id, stage, host_id, id);
`;
