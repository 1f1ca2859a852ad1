import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import { traceLogFields } from '@fleettrace/contracts';
import { activeTraceContext } from '../telemetry/log-trace-context';

/**
 * Nest's console logger, writing every level to stderr: stdout carries only the one "listening"
 * line that scripts and tests wait for. A line written under a span (a request's, a run's) ends with
 * its trace_id and span_id, so Grafana links the line to the trace.
 */
export class StderrLogger extends ConsoleLogger {
  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    _writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
  ): void {
    const fields = traceLogFields(activeTraceContext());
    const traced = fields ? messages.map((m) => (typeof m === 'string' ? `${m}${fields}` : m)) : messages;
    super.printMessages(traced, context, logLevel, 'stderr', errorStack);
  }
}
