import type { Attributes, HrTime } from '@opentelemetry/api';
import type { LogAttributes } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { EventsMessage, FieldValue } from '@fleettrace/contracts';
import type { ProgramCatalog } from '../services/program-catalog';
import { outputSignal } from './output-signals';
import { INSTRUMENTATION_SCOPE, runResourceAttributes, type RunTelemetryContext } from './run-context';

/**
 * One events message made ready to become log records, as plain data: what needs the catalog and the
 * run's context is settled here, once per message, so the records themselves can be built anywhere
 * (the log export worker, log-export-queue.ts) from a structured clone of this.
 */
export interface EventLogBatch {
  eventName: string;
  resource: Attributes;
  timeField: string;
  records: EventsMessage['records'];
}

export function eventLogBatch(ctx: RunTelemetryContext, message: EventsMessage, catalog: ProgramCatalog, serviceName?: string): EventLogBatch {
  return {
    eventName: outputSignal(catalog, ctx.program, { kind: 'events', name: message.output }).name,
    resource: runResourceAttributes(ctx, serviceName),
    timeField: message.timeField,
    records: message.records,
  };
}

/**
 * A batch of event records as OpenTelemetry events: a log record each, named as the catalog names
 * the output, its fields the attributes and its time field the timestamp.
 */
export function logRecordsOf(batch: EventLogBatch, observedAt: Date): ReadableLogRecord[] {
  const resource = resourceFromAttributes(batch.resource);
  const observed: HrTime = [Math.floor(observedAt.getTime() / 1000), (observedAt.getTime() % 1000) * 1e6];
  return batch.records.map((record) => {
    const attributes: LogAttributes = {};
    for (const [field, value] of Object.entries(record)) if (value !== null) attributes[field] = value;
    return {
      hrTime: nanosToHrTime(record[batch.timeField]) ?? observed,
      hrTimeObserved: observed,
      eventName: batch.eventName,
      resource,
      instrumentationScope: INSTRUMENTATION_SCOPE,
      attributes,
      droppedAttributesCount: 0,
    };
  });
}

export function eventLogRecords(ctx: RunTelemetryContext, message: EventsMessage, catalog: ProgramCatalog, observedAt: Date, serviceName?: string): ReadableLogRecord[] {
  return logRecordsOf(eventLogBatch(ctx, message, catalog, serviceName), observedAt);
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
