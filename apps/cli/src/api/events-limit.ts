import { DEFAULT_MAX_EVENTS_PER_RUN } from '@fleettrace/contracts';
import { positiveInteger } from '../output/printer';
import type { CommandInput } from '../spec';

/** --events-limit: how many events of each output the API sends back (it keeps at most DEFAULT_MAX_EVENTS_PER_RUN per run). */
export function eventsLimitOf(options: CommandInput['options']): number | undefined {
  return options.eventsLimit === undefined ? undefined : positiveInteger(options.eventsLimit, '--events-limit', 0, 0, DEFAULT_MAX_EVENTS_PER_RUN);
}
