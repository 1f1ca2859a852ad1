import { z } from 'zod';
import { CreateJobRequest } from './job';
import { apiComponent } from './api-components';

export const SCHEDULE_OVERLAPS = ['skip', 'allow'] as const;
/** Seconds between firings of an interval schedule: at least one, at most a week. */
export const MIN_SCHEDULE_EVERY_SECONDS = 1;
export const MAX_SCHEDULE_EVERY_SECONDS = 7 * 24 * 3600;

const NAME_MESSAGE = 'name must be 1 to 128 characters';
const EVERY_MESSAGE = `everySeconds must be a whole number of seconds from ${MIN_SCHEDULE_EVERY_SECONDS} to ${MAX_SCHEDULE_EVERY_SECONDS}`;
const CRON_MESSAGE = 'cron must be a cron expression like "*/5 * * * *"';
const TIMEZONE_MESSAGE = 'timezone must be an IANA time zone like "Europe/Paris"';

/** A time zone the runtime knows (Intl), as schedules fire in it. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const fields = {
  name: z.string({ error: NAME_MESSAGE }).trim().min(1, NAME_MESSAGE).max(128, NAME_MESSAGE),
  /** Five fields (minute hour day month weekday), or six with seconds first; checked by the API's cron parser. */
  cron: z.string({ error: CRON_MESSAGE }).trim().min(1, CRON_MESSAGE).max(256, CRON_MESSAGE),
  timezone: z.string({ error: TIMEZONE_MESSAGE }).refine(isTimeZone, TIMEZONE_MESSAGE),
  everySeconds: z.number({ error: EVERY_MESSAGE }).int(EVERY_MESSAGE).min(MIN_SCHEDULE_EVERY_SECONDS, EVERY_MESSAGE).max(MAX_SCHEDULE_EVERY_SECONDS, EVERY_MESSAGE),
  job: CreateJobRequest,
  /** skip: a firing while the schedule's previous job still runs is recorded as skipped. */
  overlap: z.enum(SCHEDULE_OVERLAPS, { error: 'overlap must be "skip" or "allow"' }),
  enabled: z.boolean({ error: 'enabled must be true or false' }),
};

const unknownKeys = (what: string) => (issue: { code: string; keys?: string[] }) =>
  issue.code === 'unrecognized_keys' && issue.keys
    ? `${what} has unknown ${issue.keys.length === 1 ? 'field' : 'fields'} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
    : `${what} must be an object`;

/** A job template fired by `cron` (in `timezone`, default UTC) or every `everySeconds`; each firing is an ordinary job. */
export const CreateScheduleRequest = z
  .object(
    {
      name: fields.name,
      cron: fields.cron.optional(),
      timezone: fields.timezone.optional(),
      everySeconds: fields.everySeconds.optional(),
      job: fields.job,
      overlap: fields.overlap.default('skip'),
      enabled: fields.enabled.default(true),
    },
    { error: unknownKeys('request body') },
  )
  .strict()
  .superRefine((request, ctx) => {
    if ((request.cron === undefined) === (request.everySeconds === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a schedule needs exactly one of cron or everySeconds', path: [] });
    }
    if (request.timezone !== undefined && request.cron === undefined) {
      ctx.addIssue({ code: 'custom', message: 'timezone applies to a cron schedule only', path: ['timezone'] });
    }
  });
export type CreateScheduleInput = z.input<typeof CreateScheduleRequest>;
export type CreateScheduleRequest = z.infer<typeof CreateScheduleRequest>;
apiComponent('CreateScheduleRequest', CreateScheduleRequest, 'request');

/** Pause or resume (`enabled`), or edit; a field left out keeps its value. */
export const UpdateScheduleRequest = z
  .object(
    {
      name: fields.name.optional(),
      cron: fields.cron.optional(),
      timezone: fields.timezone.optional(),
      everySeconds: fields.everySeconds.optional(),
      job: fields.job.optional(),
      overlap: fields.overlap.optional(),
      enabled: fields.enabled.optional(),
    },
    { error: unknownKeys('request body') },
  )
  .strict()
  .superRefine((request, ctx) => {
    if (request.cron !== undefined && request.everySeconds !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'a schedule needs exactly one of cron or everySeconds', path: [] });
    }
    if (Object.keys(request).length === 0) ctx.addIssue({ code: 'custom', message: 'request body must change at least one field', path: [] });
  });
export type UpdateScheduleRequest = z.infer<typeof UpdateScheduleRequest>;
apiComponent('UpdateScheduleRequest', UpdateScheduleRequest, 'request');
