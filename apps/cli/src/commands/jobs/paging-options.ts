import type { OptionSpec } from '../../spec';

/** Page sizes, as the API bounds them (GET /v1/jobs, GET /v1/jobs/:id/events). */
export const JOBS_PAGE = { max: 200, fallback: 50 } as const;
export const EVENTS_PAGE = { max: 5000, fallback: 200 } as const;
/** GET /v1/audit's. Here, not in the handler's module, so that the command's spec (its help) does not load the handler. */
export const AUDIT_PAGE = { max: 500, fallback: 100 } as const;

/** Paging of a list the API answers page by page (jobs, a job's events), with one meaning everywhere. */
export function pagingOptions(what: string, max: number, fallback: number): OptionSpec[] {
  return [
    { name: 'limit', argument: 'N', description: `${what} per page, 1 to ${max} (default ${fallback})` },
    { name: 'cursor', argument: 'CURSOR', description: 'the page after the one that printed this cursor' },
    { name: 'all', description: 'every page, one after the other' },
  ];
}

