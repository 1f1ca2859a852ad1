import type { Attributes } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';

/** What a run's telemetry says about where and why it was taken: the host, the job, the program. */
export interface RunTelemetryContext {
  runId: string;
  jobId: string;
  hostId: string;
  hostName: string;
  kernelRelease: string;
  /** Catalog name, or the program kind (`bpftrace`, `c`) for programs sent inline. */
  program: string;
  scheduleId: string | null;
  /** When the run began counting: its outputs are cumulative from here (started, else dispatched, else queued). */
  startedAt: Date;
}

export const SERVICE_NAME = 'fleettrace';
export const INSTRUMENTATION_SCOPE = { name: '@fleettrace/api', version: '0.1.0' };

/**
 * The resource of a run's telemetry is the host it ran on (host.* as the semantic conventions name
 * them) with the job that asked for it: the API exports on the host's behalf.
 */
export function runResource(ctx: RunTelemetryContext, serviceName = SERVICE_NAME): Resource {
  return resourceFromAttributes(runResourceAttributes(ctx, serviceName));
}

export function runResourceAttributes(ctx: RunTelemetryContext, serviceName = SERVICE_NAME): Attributes {
  return {
    'service.name': serviceName,
    'host.name': ctx.hostName,
    'host.id': ctx.hostId,
    'os.kernel.release': ctx.kernelRelease,
    'fleettrace.job.id': ctx.jobId,
    'fleettrace.program': ctx.program,
    ...(ctx.scheduleId ? { 'fleettrace.schedule.id': ctx.scheduleId } : {}),
  };
}

/**
 * Attributes every data point of a run carries, so backends that keep resource attributes apart
 * (Prometheus, Mimir: target_info) can still split by host. A scheduled job's firings share one
 * series per host (each run restarts it: a new start time is a counter reset), so the job id stays on
 * the resource there; a one-off job's runs are their own series.
 */
export function seriesAttributes(ctx: RunTelemetryContext): Attributes {
  return {
    'host.name': ctx.hostName,
    'host.id': ctx.hostId,
    'fleettrace.program': ctx.program,
    ...(ctx.scheduleId ? { 'fleettrace.schedule.id': ctx.scheduleId } : { 'fleettrace.job.id': ctx.jobId }),
  };
}
