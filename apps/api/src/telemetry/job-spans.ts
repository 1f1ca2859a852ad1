import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';
import type { RunState } from '@fleettrace/contracts';
import { isTerminalRunState } from '@fleettrace/contracts';
import type { JobRecord } from '../repositories/job.repository';
import type { RunRecord, TransitionRecord } from '../repositories/run.repository';
import { INSTRUMENTATION_SCOPE, hrTime } from './run-metrics.producer';
import { jobTraceId, spanIdOf } from './trace-ids';

/** The stage a run entering each state marks, as the run span's events name them. */
const STAGE_EVENTS: Partial<Record<RunState, string>> = {
  dispatched: 'dispatch',
  compiling: 'compile',
  loading: 'load',
  running: 'attach',
  draining: 'drain',
};

/**
 * A finished job's trace, rebuilt from what the database recorded: a job span from creation to
 * completion, and under it a span per host run from queueing to its end, its stage changes as
 * events. Built when the job completes rather than kept open, because a job outlives requests and
 * may be created and completed by different processes; the ids come from trace-ids.ts.
 */
export function jobSpans(job: JobRecord, runs: readonly RunRecord[], transitions: readonly TransitionRecord[], resource: Resource): ReadableSpan[] {
  const traceId = jobTraceId(job.id);
  const jobContext: SpanContext = { traceId, spanId: spanIdOf('job', job.id), traceFlags: TraceFlags.SAMPLED };
  const end = job.finishedAt ?? new Date();
  const failed = runs.filter((r) => r.state !== 'succeeded' && r.state !== 'cancelled');
  const jobSpan = span({
    name: `job ${job.programLabel}`,
    context: jobContext,
    start: job.createdAt,
    end,
    attributes: {
      'fleettrace.job.id': job.id,
      'fleettrace.program': job.programLabel,
      ...(job.scheduleId ? { 'fleettrace.schedule.id': job.scheduleId } : {}),
      'fleettrace.job.runs': runs.length,
      'fleettrace.job.runs.failed': failed.length,
    },
    events: [],
    error: failed.length > 0 ? `${failed.length} of ${runs.length} runs did not succeed` : undefined,
    resource,
  });
  const byRun = new Map<string, TransitionRecord[]>();
  for (const t of transitions) byRun.set(t.runId, [...(byRun.get(t.runId) ?? []), t]);
  const runSpans = runs.map((run) =>
    span({
      name: `run ${job.programLabel} on ${run.hostName || run.hostId}`,
      context: { traceId, spanId: spanIdOf('run', run.id), traceFlags: TraceFlags.SAMPLED },
      parent: jobContext,
      start: run.queuedAt,
      end: run.finishedAt ?? end,
      attributes: {
        'fleettrace.run.id': run.id,
        'fleettrace.run.state': run.state,
        'host.id': run.hostId,
        'host.name': run.hostName || run.hostId,
        'os.kernel.release': run.hostKernel,
      },
      events: (byRun.get(run.id) ?? []).flatMap((t): TimedEvent[] => {
        const name = isTerminalRunState(t.state) ? 'finish' : STAGE_EVENTS[t.state];
        return name ? [{ name, time: hrTime(t.at), attributes: { 'fleettrace.run.state': t.state, ...(t.error ? { 'error.message': t.error } : {}) } }] : [];
      }),
      error: run.state === 'succeeded' || run.state === 'cancelled' ? undefined : (run.error ?? run.state),
      resource,
    }),
  );
  return [jobSpan, ...runSpans];
}

interface SpanParts {
  name: string;
  context: SpanContext;
  parent?: SpanContext;
  start: Date;
  end: Date;
  attributes: Attributes;
  events: TimedEvent[];
  error: string | undefined;
  resource: Resource;
}

function span(parts: SpanParts): ReadableSpan {
  const startTime = hrTime(parts.start);
  const endTime = hrTime(parts.end < parts.start ? parts.start : parts.end);
  return {
    name: parts.name,
    kind: SpanKind.INTERNAL,
    spanContext: () => parts.context,
    parentSpanContext: parts.parent,
    startTime,
    endTime,
    duration: hrDiff(startTime, endTime),
    status: parts.error ? { code: SpanStatusCode.ERROR, message: parts.error } : { code: SpanStatusCode.OK },
    attributes: parts.attributes,
    links: [],
    events: parts.events,
    ended: true,
    resource: parts.resource,
    instrumentationScope: INSTRUMENTATION_SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

function hrDiff(start: HrTime, end: HrTime): HrTime {
  let seconds = end[0] - start[0];
  let nanos = end[1] - start[1];
  if (nanos < 0) {
    seconds -= 1;
    nanos += 1e9;
  }
  return [seconds, nanos];
}
