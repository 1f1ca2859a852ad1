import { withClient } from '../../api/with-client';
import { ExitCode } from '../../errors';
import { printData, printOptions } from '../../output/printer';
import type { CommandHandler } from '../../spec';
import { jobsDataset } from '../jobs/ls';
import { scheduleIdArgument, scheduleLines } from './schedule-view';

/** One schedule; -o csv / ndjson print the jobs it started, a row each (as `jobs ls --schedule ID`). */
export const show: CommandHandler = async (input, io) => {
  const print = printOptions(input.options);
  const id = scheduleIdArgument(input.args);
  const schedule = await withClient(input, io, (client) => client.schedule(id));
  await printData(io.stdout, print, schedule, jobsDataset(schedule.jobs), () => scheduleLines(schedule, io.stdout.color));
  return ExitCode.ok;
};
