import type { COutputDecl } from '@fleettrace/contracts';
import { UsageError } from '../errors';

export const C_OUTPUT_SYNTAX = 'hist=MAP:UNIT, counts=MAP:UNIT or events=RINGBUF:RECORD_TYPE, then optionally ,name=NAME (and ,time=FIELD for events)';

/**
 * One `--output` of a C program:
 *   hist=MAP:UNIT[,name=NAME]                 a log2 histogram map
 *   counts=MAP:UNIT[,name=NAME]               a key → count map
 *   events=RINGBUF:TYPE[,time=FIELD][,name=NAME]  a ring buffer of records of a BTF type ("struct event")
 */
export function parseCOutput(text: string): COutputDecl {
  const invalid = (): UsageError => new UsageError(`--output "${text}": expected ${C_OUTPUT_SYNTAX}`);
  const [head, ...extras] = text.split(',');
  const match = /^(hist|counts|events)=([^:]+):(.+)$/.exec(head.trim());
  if (!match) throw invalid();
  const [, kind, source, detail] = match;
  const settings = new Map<string, string>();
  for (const extra of extras) {
    const setting = /^\s*(name|time)=(.+?)\s*$/.exec(extra);
    if (!setting || settings.has(setting[1])) throw invalid();
    settings.set(setting[1], setting[2]);
  }
  const name = settings.get('name');
  if (kind === 'events') {
    const timeField = settings.get('time');
    return { kind, ringBuffer: source.trim(), recordType: detail.trim(), ...(timeField ? { timeField } : {}), ...(name ? { name } : {}) };
  }
  if (settings.has('time')) throw new UsageError(`--output "${text}": time= applies to events outputs only`);
  return { kind: kind as 'hist' | 'counts', map: source.trim(), unit: detail.trim(), ...(name ? { name } : {}) };
}
