import { withClient } from '../../api/with-client';
import { ExitCode } from '../../errors';
import { printData, printOptions, tableLines } from '../../output/printer';
import type { CommandHandler } from '../../spec';
import { schedulesDataset } from './schedule-view';

export const ls: CommandHandler = async (input, io) => {
  const print = printOptions(input.options);
  const schedules = await withClient(input, io, (client) => client.schedules());
  await printData(io.stdout, print, schedules, schedulesDataset(schedules), (chosen) => (schedules.length === 0 ? ['no schedules'] : tableLines(chosen, io.stdout.color)));
  return ExitCode.ok;
};
