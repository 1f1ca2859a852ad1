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

type Signal = 'metrics' | 'logs' | 'traces';

export function otlpExportFromEnv(env: NodeJS.ProcessEnv = process.env): OtlpExportConfig {
  const countsTop = parseCountsTop(env.FLEETTRACE_OTEL_COUNTS_TOP);
  const pyroscope = env.FLEETTRACE_PYROSCOPE_URL?.trim();
  const profiles = pyroscope ? { profilesUrl: checkedUrl('FLEETTRACE_PYROSCOPE_URL', pyroscope) } : {};
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { ...OTLP_EXPORT_OFF, countsTop, ...profiles };
  return { metricsUrl: signalUrl(env, 'metrics'), logsUrl: signalUrl(env, 'logs'), tracesUrl: signalUrl(env, 'traces'), countsTop, ...profiles };
}

export function otlpExportEnabled(config: OtlpExportConfig): boolean {
  return config.metricsUrl !== undefined || config.logsUrl !== undefined || config.tracesUrl !== undefined || config.profilesUrl !== undefined;
}

/**
 * As the OTLP exporter specification says: the signal's own variable is the URL as is; the general
 * one is a base to which `v1/<signal>` is appended. Only http/protobuf is spoken, so another protocol
 * asked for is a start-up error rather than data silently sent in the wrong shape.
 */
function signalUrl(env: NodeJS.ProcessEnv, signal: Signal): string | undefined {
  const upper = signal.toUpperCase();
  const exporters = env[`OTEL_${upper}_EXPORTER`];
  if (exporters !== undefined && exporters.split(',').map((e) => e.trim()).includes('none')) return undefined;
  for (const name of [`OTEL_EXPORTER_OTLP_${upper}_PROTOCOL`, 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = env[name]?.trim();
    if (protocol) {
      if (protocol !== 'http/protobuf') throw new Error(`${name}: only http/protobuf is supported, got "${protocol}"`);
      break;
    }
  }
  const own = env[`OTEL_EXPORTER_OTLP_${upper}_ENDPOINT`]?.trim();
  if (own) return checkedUrl(`OTEL_EXPORTER_OTLP_${upper}_ENDPOINT`, own);
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return undefined;
  checkedUrl('OTEL_EXPORTER_OTLP_ENDPOINT', base);
  return `${base.replace(/\/+$/, '')}/v1/${signal}`;
}

function checkedUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} must be an http(s) URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${name} must be an http(s) URL, got "${value}"`);
  return value;
}

function parseCountsTop(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_TOP_LIMIT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(`FLEETTRACE_OTEL_COUNTS_TOP must be a whole number from 1 to 1000, got "${value}"`);
  return n;
}
