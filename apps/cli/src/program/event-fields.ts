import { cOutputName, type ProgramSpec } from '@fleettrace/contracts';
import { EVENT_TIME_FIELD } from '../views/events';
import { getProgram } from './catalog';

/** How an events output's records are laid out, as far as the program tells: the order of its fields and its time field. */
export interface EventFields {
  order?: readonly string[];
  timeField: string;
}

/**
 * A catalog program's events keep their struct's field order (the API stores records as JSON
 * objects, whose key order it does not keep); a C program's may name its own time field.
 */
export function eventFieldsOf(program: ProgramSpec | undefined, output: string): EventFields {
  if (typeof program === 'string') {
    const spec = getProgram(program)?.outputs.find((o) => o.kind === 'events' && o.name === output);
    return { timeField: EVENT_TIME_FIELD, ...(spec?.kind === 'events' ? { order: spec.layout.fields.map((f) => f.name) } : {}) };
  }
  if (program?.kind === 'c') {
    const decl = program.outputs.find((o) => o.kind === 'events' && cOutputName(o) === output);
    if (decl?.kind === 'events' && decl.timeField) return { timeField: decl.timeField };
  }
  return { timeField: EVENT_TIME_FIELD };
}
