import type { Attributes, HrTime } from '@opentelemetry/api';
import type { FieldValue } from '@fleettrace/contracts';
import type { ProgramCatalog } from '../services/program-catalog';
import { outputSignal } from './output-signals';
import { runResourceAttributes, type RunTelemetryContext } from './run-context';

/**
 * What every log record of one run's events output shares, as plain data: its event name (as the
 * catalog names the output) and its resource (the run's host and job). Settled once per (run,
 * output) where the catalog and the run's context are; the log export queue encodes it once
 * (log-export-queue.ts).
 */
export interface EventStream {
  eventName: string;
  resource: Attributes;
}

export function eventStream(ctx: RunTelemetryContext, output: string, catalog: ProgramCatalog, serviceName?: string): EventStream {
  return { eventName: outputSignal(catalog, ctx.program, { kind: 'events', name: output }).name, resource: runResourceAttributes(ctx, serviceName) };
}

/** The key of a run's output among the streams the log export queue holds encoded: a run id never holds a NUL. */
export function eventStreamKey(runId: string, output: string): string {
  return `${runId}\u0000${output}`;
}

/** Epoch nanoseconds as a number or (past 2^53) a decimal string, exactly; undefined when not a time. */
export function nanosToHrTime(value: FieldValue | undefined): HrTime | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
    const ns = BigInt(Math.trunc(value));
    return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
  }
  if (typeof value !== 'string' || value.length === 0 || value.length > 19) return undefined;
  // 1-19 decimal digits, split exactly into seconds and nanoseconds as they are read, without a
  // regular expression, slices or BigInt: this runs once per exported event.
  const secondsEnd = value.length - 9;
  let seconds = 0;
  let nanos = 0;
  for (let i = 0; i < value.length; i++) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return undefined;
    if (i < secondsEnd) seconds = seconds * 10 + digit;
    else nanos = nanos * 10 + digit;
  }
  return [seconds, nanos];
}
