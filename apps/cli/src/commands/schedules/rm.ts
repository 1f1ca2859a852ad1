import { withClient } from '../../api/with-client';
import { ExitCode } from '../../errors';
import type { CommandHandler } from '../../spec';
import { scheduleIdArgument } from './schedule-view';

export const rm: CommandHandler = async (input, io) => {
  const id = scheduleIdArgument(input.args);
  await withClient(input, io, (client) => client.removeSchedule(id));
  io.stdout.write(`removed schedule ${id}\n`);
  return ExitCode.ok;
};
