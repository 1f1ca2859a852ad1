/**
 * Where a process sends one OpenTelemetry signal, read from the standard OTEL_* variables: the same
 * rule for the API and the daemons. Undefined means that signal is off (no endpoint, OTEL_SDK_DISABLED,
 * or OTEL_<SIGNAL>_EXPORTER=none), and then nothing of the SDK needs loading.
 *
 * As the OTLP exporter specification says: the signal's own variable is the URL as is; the general
 * one is a base to which `v1/<signal>` is appended. Only http/protobuf is spoken, so another protocol
 * asked for is a start-up error rather than data silently sent in the wrong shape.
 */
export type OtlpSignal = 'metrics' | 'logs' | 'traces';

export function otlpSignalUrl(env: Readonly<Record<string, string | undefined>>, signal: OtlpSignal): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
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
  if (own) return checkedHttpUrl(`OTEL_EXPORTER_OTLP_${upper}_ENDPOINT`, own);
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return undefined;
  checkedHttpUrl('OTEL_EXPORTER_OTLP_ENDPOINT', base);
  return `${base.replace(/\/+$/, '')}/v1/${signal}`;
}

export function checkedHttpUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} must be an http(s) URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${name} must be an http(s) URL, got "${value}"`);
  return value;
}
