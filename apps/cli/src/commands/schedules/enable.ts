import { withClient } from '../../api/with-client';
import { ExitCode } from '../../errors';
import { printDocument, printOptions } from '../../output/printer';
import type { CommandHandler } from '../../spec';
import { scheduleIdArgument, scheduleLine } from './schedule-view';

/** Pause (false) or resume (true): the schedule as it then stands, as one line or the API's answer. */
function setEnabled(enabled: boolean): CommandHandler {
  return async (input, io) => {
    const print = printOptions(input.options);
    const id = scheduleIdArgument(input.args);
    const schedule = await withClient(input, io, (client) => client.updateSchedule(id, { enabled }));
    if (print.format === 'json' || print.format === 'yaml') await printDocument(io.stdout, print.format, schedule);
    else io.stdout.write(`${scheduleLine(schedule)}\n`);
    return ExitCode.ok;
  };
}

export const pause = setEnabled(false);
export const resume = setEnabled(true);
