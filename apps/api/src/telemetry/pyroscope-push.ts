import type { StacksOutput } from '@fleettrace/contracts';
import { stacksToPprof } from '@fleettrace/results/pprof';
import type { RunTelemetryContext } from './run-context';

/**
 * A Pyroscope-compatible `/ingest` request for one run's stacks output: the pprof the API also
 * serves for download (libs/results pprof.ts), as the `profile` part of a multipart form, which is
 * how Pyroscope's own agents send `format=pprof`. The application name is `fleettrace.<program>`;
 * labels split it by host, job and output, so Grafana's flame graph panel can pick one host or the
 * whole fleet (Pyroscope adds profiles with the same name up).
 */
export interface PyroscopeIngest {
  url: string;
  body: FormData;
}

export function pyroscopeIngest(baseUrl: string, ctx: RunTelemetryContext, output: StacksOutput, from: Date, until: Date): PyroscopeIngest {
  const labels: Record<string, string> = {
    host_name: ctx.hostName,
    host_id: ctx.hostId,
    fleettrace_job_id: ctx.jobId,
    fleettrace_output: output.name,
    ...(ctx.scheduleId ? { fleettrace_schedule_id: ctx.scheduleId } : {}),
  };
  const name = `fleettrace.${labelValue(ctx.program)}{${Object.entries(labels)
    .map(([key, value]) => `${key}=${labelValue(value)}`)
    .join(',')}}`;
  const query = new URLSearchParams({
    name,
    from: String(Math.floor(from.getTime() / 1000)),
    until: String(Math.max(Math.ceil(until.getTime() / 1000), Math.floor(from.getTime() / 1000) + 1)),
    format: 'pprof',
    spyName: 'fleettrace',
  });
  const profile = stacksToPprof(output, { timeNanos: BigInt(from.getTime()) * 1_000_000n, durationNanos: BigInt(Math.max(0, until.getTime() - from.getTime())) * 1_000_000n });
  const body = new FormData();
  body.append('profile', new Blob([profile], { type: 'application/octet-stream' }), 'profile.pprof');
  return { url: `${baseUrl.replace(/\/+$/, '')}/ingest?${query}`, body };
}

/** Pyroscope's name grammar reserves `{`, `}`, `,` and `=`; hosts and jobs never need them. */
function labelValue(value: string): string {
  return value.replace(/[{},=\s]/g, '_');
}

export async function pushToPyroscope(ingest: PyroscopeIngest, fetchImpl: typeof fetch = fetch): Promise<void> {
  const response = await fetchImpl(ingest.url, { method: 'POST', body: ingest.body, signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`Pyroscope ingest answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
}
