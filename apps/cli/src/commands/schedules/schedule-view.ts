import type { ScheduleDetailView, ScheduleFiringView, ScheduleView } from '@fleettrace/contracts';
import { programLabel } from '@fleettrace/contracts';
import { UsageError } from '../../errors';
import type { Dataset } from '../../output/dataset';
import { tableLines } from '../../output/printer';
import { ago, localTime } from '../../views/time';
import { jobsDataset } from '../jobs/ls';
import { rolloutText, targetsText } from '../jobs/job-view';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function scheduleIdArgument(args: readonly string[]): string {
  const id = args[0] ?? '';
  if (!UUID.test(id)) throw new UsageError(`schedule id must be a UUID like 0b6e3c1e-8f0a-4c2b-9a57-3d1f2e4b5c6d, got "${id}"`);
  return id.toLowerCase();
}

/** `cron "0 3 * * *" Europe/Paris` or `every 5m`. */
export function whenText(schedule: ScheduleView): string {
  if (schedule.cron !== null) return `cron "${schedule.cron}"${schedule.timezone ? ` ${schedule.timezone}` : ''}`;
  const s = schedule.everySeconds ?? 0;
  const span = s % 86_400 === 0 ? `${s / 86_400}d` : s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`;
  return `every ${span}`;
}

function firingText(firing: ScheduleFiringView | null): string {
  if (!firing) return '';
  return `${ago(firing.at)}: ${firing.outcome === 'started' ? 'started' : `skipped${firing.reason ? ` (${firing.reason})` : ''}`}`;
}

export function schedulesDataset(schedules: readonly ScheduleView[]): Dataset {
  const rows = schedules.map((s) => ({
    id: s.id,
    name: s.name,
    when: whenText(s),
    program: programLabel(s.job.program),
    state: s.enabled ? 'active' : 'paused',
    next: s.enabled && s.nextFiringAt ? ago(s.nextFiringAt) : '',
    last: firingText(s.lastFiring),
    overlap: s.overlap,
    createdBy: s.createdBy,
    nextFiringAt: s.nextFiringAt,
  }));
  return { columns: ['id', 'name', 'when', 'program', 'state', 'next', 'last'], rows };
}

/** The one line `create`, `pause` and `resume` print. */
export function scheduleLine(schedule: ScheduleView): string {
  const next = schedule.enabled ? (schedule.nextFiringAt ? `next firing ${localTime(schedule.nextFiringAt)} (${ago(schedule.nextFiringAt)})` : 'no firing to come') : 'paused';
  return `schedule ${schedule.id} "${schedule.name}": ${programLabel(schedule.job.program)} ${whenText(schedule)}; ${next}`;
}

export function scheduleLines(schedule: ScheduleDetailView, color: boolean): string[] {
  const job = schedule.job;
  const firings = schedule.firings.map((f) => ({ at: localTime(f.at), outcome: f.outcome, job: f.jobId ?? '', reason: f.reason ?? '' }));
  return [
    `schedule  ${schedule.id}`,
    `name      ${schedule.name}`,
    `when      ${whenText(schedule)}, overlap ${schedule.overlap}`,
    `state     ${schedule.enabled ? 'active' : 'paused'}${schedule.enabled && schedule.nextFiringAt ? `, next firing ${localTime(schedule.nextFiringAt)} (${ago(schedule.nextFiringAt)})` : ''}`,
    `job       ${programLabel(job.program)}${Object.keys(job.params ?? {}).length > 0 ? ` ${JSON.stringify(job.params)}` : ''} for ${job.durationSeconds}s on ${targetsText(job.targets ?? {})}${job.rollout ? `, ${rolloutText(job.rollout)}` : ''}`,
    `created   ${localTime(schedule.createdAt)} by ${schedule.createdBy}`,
    '',
    'firings:',
    ...(firings.length > 0 ? tableLines({ columns: ['at', 'outcome', 'job', 'reason'], rows: firings }, color) : ['  none yet']),
    '',
    'jobs:',
    ...(schedule.jobs.length > 0 ? tableLines(jobsDataset(schedule.jobs), color) : ['  none yet']),
  ];
}
