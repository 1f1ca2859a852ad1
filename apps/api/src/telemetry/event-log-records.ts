import type { HrTime } from '@opentelemetry/api';
import type { LogAttributes } from '@opentelemetry/api-logs';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { EventsMessage, FieldValue } from '@fleettrace/contracts';
import type { ProgramCatalog } from '../services/program-catalog';
import { outputSignal } from './output-signals';
import { INSTRUMENTATION_SCOPE } from './run-metrics.producer';
import { runResource, type RunTelemetryContext } from './run-context';

/**
 * A batch of event records as OpenTelemetry events: a log record each, named as the catalog names
 * the output, its fields the attributes and its time field the timestamp.
 */
export function eventLogRecords(ctx: RunTelemetryContext, message: EventsMessage, catalog: ProgramCatalog, observedAt: Date, serviceName?: string): ReadableLogRecord[] {
  const eventName = outputSignal(catalog, ctx.program, { kind: 'events', name: message.output }).name;
  const resource = runResource(ctx, serviceName);
  const observed: HrTime = [Math.floor(observedAt.getTime() / 1000), (observedAt.getTime() % 1000) * 1e6];
  return message.records.map((record) => {
    const attributes: LogAttributes = {};
    for (const [field, value] of Object.entries(record)) if (value !== null) attributes[field] = value;
    return {
      hrTime: nanosToHrTime(record[message.timeField]) ?? observed,
      hrTimeObserved: observed,
      eventName,
      resource,
      instrumentationScope: INSTRUMENTATION_SCOPE,
      attributes,
      droppedAttributesCount: 0,
    };
  });
}

/** Epoch nanoseconds as a number or (past 2^53) a decimal string, exactly; undefined when not a time. */
export function nanosToHrTime(value: FieldValue | undefined): HrTime | undefined {
  let ns: bigint;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) ns = BigInt(Math.trunc(value));
  else if (typeof value === 'string' && /^\d{1,19}$/.test(value)) ns = BigInt(value);
  else return undefined;
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}
