import type { Attributes, HrTime } from '@opentelemetry/api';
import type { LogAttributes } from '@opentelemetry/api-logs';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { EventRecord, EventsMessage, FieldValue } from '@fleettrace/contracts';
import type { ProgramCatalog } from '../services/program-catalog';
import { outputSignal } from './output-signals';
import { INSTRUMENTATION_SCOPE, runResourceAttributes, type RunTelemetryContext } from './run-context';

/**
 * What every log record of one run's events output shares, as plain data: its event name (as the
 * catalog names the output) and its resource (the run's host and job). Settled once per (run,
 * output) where the catalog and the run's context are, and handed to the log export worker once
 * (log-export-queue.ts), which then needs only each message's own text.
 */
export interface EventStream {
  eventName: string;
  resource: Attributes;
}

export function eventStream(ctx: RunTelemetryContext, output: string, catalog: ProgramCatalog, serviceName?: string): EventStream {
  return { eventName: outputSignal(catalog, ctx.program, { kind: 'events', name: output }).name, resource: runResourceAttributes(ctx, serviceName) };
}

/** The key of a run's output among the streams a worker holds: a run id never holds a NUL. */
export function eventStreamKey(runId: string, output: string): string {
  return `${runId}\u0000${output}`;
}

/**
 * Event records as OpenTelemetry events: a log record each, named as the catalog names the output,
 * its fields the attributes and its time field the timestamp.
 */
export function logRecordsOf(stream: { eventName: string; resource: Resource }, timeField: string, records: readonly EventRecord[], observedAt: Date): ReadableLogRecord[] {
  const observed: HrTime = [Math.floor(observedAt.getTime() / 1000), (observedAt.getTime() % 1000) * 1e6];
  return records.map((record) => {
    const attributes: LogAttributes = {};
    for (const [field, value] of Object.entries(record)) if (value !== null) attributes[field] = value;
    return {
      hrTime: nanosToHrTime(record[timeField]) ?? observed,
      hrTimeObserved: observed,
      eventName: stream.eventName,
      resource: stream.resource,
      instrumentationScope: INSTRUMENTATION_SCOPE,
      attributes,
      droppedAttributesCount: 0,
    };
  });
}

export function eventLogRecords(ctx: RunTelemetryContext, message: EventsMessage, catalog: ProgramCatalog, observedAt: Date, serviceName?: string): ReadableLogRecord[] {
  const stream = eventStream(ctx, message.output, catalog, serviceName);
  return logRecordsOf({ eventName: stream.eventName, resource: resourceFromAttributes(stream.resource) }, message.timeField, message.records, observedAt);
}

/** Epoch nanoseconds as a number or (past 2^53) a decimal string, exactly; undefined when not a time. */
export function nanosToHrTime(value: FieldValue | undefined): HrTime | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) {
    const ns = BigInt(Math.trunc(value));
    return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
  }
  if (typeof value !== 'string' || !/^\d{1,19}$/.test(value)) return undefined;
  // Split as decimal text, exactly and without BigInt: this runs once per exported event.
  return value.length <= 9 ? [0, Number(value)] : [Number(value.slice(0, -9)), Number(value.slice(-9))];
}
