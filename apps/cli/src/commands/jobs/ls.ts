import type { JobListItem, RunState } from '@fleettrace/contracts';
import { withClient } from '../../api/with-client';
import { ExitCode, UsageError } from '../../errors';
import type { Dataset } from '../../output/dataset';
import { printData, printOptions, tableLines } from '../../output/printer';
import { parseDuration } from '../../program/duration';
import type { CommandHandler } from '../../spec';
import { ago } from '../../views/time';
import { fetchPages, morePages, pagingOf } from './paging';
import { JOBS_PAGE } from './paging-options';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `--since 1h` (that long ago) or a time the API reads (`2026-12-04T10:00:00Z`), as the API's ISO form. */
export function timeFlag(text: string, flag: string, now = Date.now()): string {
  if (/^\d+[hms]/.test(text.trim())) return new Date(now - parseDuration(text, flag) * 1000).toISOString();
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new UsageError(`${flag} must be a time like 2026-12-04T10:00:00Z or a time ago like 2h, got "${text}"`);
  return new Date(at).toISOString();
}

/** `succeeded 2, failed 1`: a job's run states, the most common first. */
export function runStatesText(states: Partial<Record<RunState, number>>): string {
  return Object.entries(states)
    .filter(([, n]) => (n ?? 0) > 0)
    .sort(([a, x], [b, y]) => (y ?? 0) - (x ?? 0) || a.localeCompare(b))
    .map(([state, n]) => `${state} ${n}`)
    .join(', ');
}

export function jobsDataset(jobs: readonly JobListItem[], now = Date.now()): Dataset {
  const rows = jobs.map((job) => ({
    id: job.id,
    program: job.program,
    state: job.state,
    hosts: job.hosts,
    runs: runStatesText(job.runStates),
    created: ago(job.createdAt, now),
    by: job.createdBy,
    duration: job.durationSeconds,
    schedule: job.scheduleId ?? '',
    createdAt: job.createdAt,
    finishedAt: job.finishedAt,
  }));
  return { columns: ['id', 'program', 'state', 'hosts', 'runs', 'created', 'by'], rows };
}

export const ls: CommandHandler = async (input, io) => {
  const { options } = input;
  const print = printOptions({ ...options, limit: undefined });
  const paging = pagingOf(options, JOBS_PAGE.max, JOBS_PAGE.fallback);
  if (options.schedule !== undefined && !UUID.test(String(options.schedule))) throw new UsageError(`--schedule must be a schedule id (a UUID), got "${options.schedule}"`);
  const query = {
    state: options.state as string | undefined,
    program: options.program as string | undefined,
    createdBy: options.createdBy as string | undefined,
    scheduleId: options.schedule as string | undefined,
    since: options.since === undefined ? undefined : timeFlag(String(options.since), '--since'),
    until: options.until === undefined ? undefined : timeFlag(String(options.until), '--until'),
    limit: paging.limit,
  };
  const page = await withClient(input, io, (client) => fetchPages(paging, (cursor) => client.jobs({ ...query, cursor })));
  await printData(io.stdout, print, page, jobsDataset(page.items), (chosen) => (page.items.length === 0 ? ['no jobs'] : tableLines(chosen, io.stdout.color)));
  const more = morePages('fleettrace jobs ls', page.nextCursor);
  if (more) io.stderr.write(`${more}\n`);
  return ExitCode.ok;
};
