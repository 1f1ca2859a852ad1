import { randomBytes } from 'node:crypto';
import { isTerminalRunState, traceContextOf, type ResultMessage, type RunState } from '@fleettrace/contracts';

/** A stage of a run as this host saw it: a span event at the time the daemon reported it. */
export interface RunSpanEvent {
  name: string;
  at: number;
  state: RunState;
}

/** One run's span on this host, ended: plain data, turned into OTLP by otlp-span-export.ts. */
export interface RunSpan {
  runId: string;
  traceId: string;
  /** The span the dispatch's traceparent named: the API's span of this run on this host. */
  parentSpanId: string;
  spanId: string;
  start: number;
  end: number;
  state: RunState;
  error?: string;
  events: RunSpanEvent[];
}

/** What each state a run reports marks, named as the API names its run span's events (job-spans.ts). */
const STAGES: Partial<Record<RunState, string>> = {
  dispatched: 'dispatch received',
  compiling: 'compile',
  loading: 'load',
  running: 'attach',
  draining: 'drain',
};

/** Runs followed at once; a run whose summary never comes (the daemon stopped) is let go past this. */
const MAX_OPEN = 1_000;

/**
 * This daemon's span of each run it executes, read off the reports it publishes (the daemon's one
 * record of a run's stages), continuing the trace context the dispatch carried: its trace is the
 * job's, its parent the API's span of the run. A dispatch with no traceparent, or one not sampled,
 * makes no span.
 */
export class RunSpans {
  private readonly open = new Map<string, Omit<RunSpan, 'end' | 'state'>>();

  constructor(
    private readonly ended: (span: RunSpan) => void,
    private readonly newSpanId: () => string = () => randomBytes(8).toString('hex'),
  ) {}

  /**
   * The report as it is to be sent: one that returns the dispatch's trace context also names this
   * daemon's span of the run (`hostSpanId`), so the API can store where the host's part of the
   * trace is. Called before the report is published; `published` after.
   */
  stamped(message: ResultMessage): ResultMessage {
    if ((message.type !== 'state' && message.type !== 'summary') || message.traceparent === undefined) return message;
    const span = this.spanOf(message);
    return span ? { ...message, hostSpanId: span.spanId } : message;
  }

  published(message: ResultMessage): void {
    if (message.type !== 'state' && message.type !== 'summary') return;
    const span = this.spanOf(message);
    if (!span) return;
    if (message.type === 'state' && !isTerminalRunState(message.state)) {
      const name = STAGES[message.state];
      if (name) span.events.push({ name, at: message.at, state: message.state });
      return;
    }
    // The summary ends the run (a terminal `state` may come first: the summary still follows).
    if (message.type === 'state') return;
    this.open.delete(message.runId);
    span.events.push({ name: 'finish', at: message.at, state: message.state });
    this.ended({ ...span, end: message.at, state: message.state, ...(message.error ? { error: message.error } : {}) });
  }

  /** The run's open span; begun now if this report is the first to carry the dispatch's context. */
  private spanOf(message: Extract<ResultMessage, { type: 'state' | 'summary' }>): Omit<RunSpan, 'end' | 'state'> | undefined {
    const open = this.open.get(message.runId);
    if (open) return open;
    // A span starts at the first report carrying the dispatch's context: `dispatched`, or the
    // summary of a run refused before it (missed, unsupported, cancelled).
    const parent = sampledParent(message.traceparent);
    if (!parent) return undefined;
    const span = { runId: message.runId, traceId: parent.traceId, parentSpanId: parent.spanId, spanId: this.newSpanId(), start: message.at, events: [] as RunSpanEvent[] };
    if (this.open.size >= MAX_OPEN) this.open.delete(this.open.keys().next().value!);
    this.open.set(message.runId, span);
    return span;
  }
}

function sampledParent(traceparent: string | undefined): { traceId: string; spanId: string } | undefined {
  if (!traceparent?.endsWith('-01')) return undefined;
  return traceContextOf(traceparent);
}
