import { checkedHttpUrl, otlpSignalUrl } from '@fleettrace/contracts';
import { DEFAULT_TOP_LIMIT } from '@fleettrace/results';

/**
 * Where trace results go as OpenTelemetry, read from the standard OTEL_* variables (the exporters read
 * the rest themselves: headers, timeout, compression). Export is on for a signal when an endpoint is
 * set for it, and off (nothing built, nothing looked up) otherwise.
 */
export interface OtlpExportConfig {
  /** Full URL metrics are posted to, or undefined when metrics are not exported. */
  metricsUrl: string | undefined;
  logsUrl: string | undefined;
  /** Where job traces go. */
  tracesUrl: string | undefined;
  /** Per run and counts output: the largest keys each get a series, the rest are summed into `other`. */
  countsTop: number;
  /**
   * Base URL of a Pyroscope-compatible server (FLEETTRACE_PYROSCOPE_URL) each run's stacks are
   * pushed to as pprof, or undefined. Not an OTEL_* variable: OTLP profiles are not stable yet.
   */
  profilesUrl?: string;
}

export const OTLP_EXPORT_OFF: OtlpExportConfig = { metricsUrl: undefined, logsUrl: undefined, tracesUrl: undefined, countsTop: DEFAULT_TOP_LIMIT };

export function otlpExportFromEnv(env: NodeJS.ProcessEnv = process.env): OtlpExportConfig {
  const countsTop = parseCountsTop(env.FLEETTRACE_OTEL_COUNTS_TOP);
  const pyroscope = env.FLEETTRACE_PYROSCOPE_URL?.trim();
  const profiles = pyroscope ? { profilesUrl: checkedHttpUrl('FLEETTRACE_PYROSCOPE_URL', pyroscope) } : {};
  return { metricsUrl: otlpSignalUrl(env, 'metrics'), logsUrl: otlpSignalUrl(env, 'logs'), tracesUrl: otlpSignalUrl(env, 'traces'), countsTop, ...profiles };
}

export function otlpExportEnabled(config: OtlpExportConfig): boolean {
  return config.metricsUrl !== undefined || config.logsUrl !== undefined || config.tracesUrl !== undefined || config.profilesUrl !== undefined;
}

function parseCountsTop(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_TOP_LIMIT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(`FLEETTRACE_OTEL_COUNTS_TOP must be a whole number from 1 to 1000, got "${value}"`);
  return n;
}
