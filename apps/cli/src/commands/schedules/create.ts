import { isTimeZone, MAX_SCHEDULE_EVERY_SECONDS, type CreateScheduleInput } from '@fleettrace/contracts';
import { withClient } from '../../api/with-client';
import { ExitCode, UsageError } from '../../errors';
import { jobRequestFromFlags } from '../../job-request/job-flags';
import { printDocument, printOptions } from '../../output/printer';
import { parseDuration } from '../../program/duration';
import type { CommandHandler } from '../../spec';
import { scheduleLine } from './schedule-view';

/** --name, --cron or --every, --timezone, --overlap: the schedule around the job the `run` flags describe. */
export function scheduleRequest(options: Record<string, unknown>): Omit<CreateScheduleInput, 'job'> {
  const name = options.name === undefined ? '' : String(options.name).trim();
  if (name === '' || name.length > 128) throw new UsageError('schedules create needs --name, 1 to 128 characters');
  if ((options.cron === undefined) === (options.every === undefined)) throw new UsageError('give one of --cron and --every');
  if (options.timezone !== undefined && options.cron === undefined) throw new UsageError('--timezone applies to --cron only');
  if (options.timezone !== undefined && !isTimeZone(String(options.timezone))) throw new UsageError(`--timezone must be an IANA time zone like Europe/Paris, got "${options.timezone}"`);
  const when: Pick<CreateScheduleInput, 'cron' | 'everySeconds' | 'timezone'> = {};
  if (options.cron !== undefined) when.cron = String(options.cron);
  if (options.timezone !== undefined) when.timezone = String(options.timezone);
  if (options.every !== undefined) {
    when.everySeconds = parseDuration(String(options.every), '--every');
    if (when.everySeconds > MAX_SCHEDULE_EVERY_SECONDS) throw new UsageError(`--every must be at most a week (${MAX_SCHEDULE_EVERY_SECONDS / 3600}h), got "${options.every}"`);
  }
  return { name, ...when, ...(options.overlap === undefined ? {} : { overlap: options.overlap as 'skip' | 'allow' }), ...(options.paused ? { enabled: false } : {}) };
}

export const create: CommandHandler = async (input, io) => {
  const print = printOptions(input.options);
  const schedule = scheduleRequest(input.options);
  const job = jobRequestFromFlags(input, io.cwd);
  const created = await withClient(input, io, (client) => client.createSchedule({ ...schedule, job }));
  if (print.format === 'json' || print.format === 'yaml') await printDocument(io.stdout, print.format, created);
  else io.stdout.write(`${scheduleLine(created)}\n`);
  return ExitCode.ok;
};
