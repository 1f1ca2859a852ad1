import { describe, expect, it } from 'vitest';
import { otlpExportEnabled, otlpExportFromEnv } from './otlp-config';

describe('OTLP export configuration from OTEL_* variables', () => {
  it('is off when no endpoint is set', () => {
    const config = otlpExportFromEnv({});
    expect(config).toEqual({ metricsUrl: undefined, logsUrl: undefined, tracesUrl: undefined, countsTop: 20 });
    expect(otlpExportEnabled(config)).toBe(false);
  });

  it('appends v1/<signal> to the general endpoint and takes signal endpoints as they are', () => {
    expect(otlpExportFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toMatchObject({
      metricsUrl: 'http://collector:4318/v1/metrics',
      logsUrl: 'http://collector:4318/v1/logs',
      tracesUrl: 'http://collector:4318/v1/traces',
    });
    const config = otlpExportFromEnv({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://mimir/otlp/v1/metrics' });
    expect(config).toMatchObject({ metricsUrl: 'http://mimir/otlp/v1/metrics', logsUrl: undefined });
    expect(otlpExportEnabled(config)).toBe(true);
  });

  it('leaves a signal out when its exporter is none, and everything when the SDK is disabled', () => {
    expect(otlpExportFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_LOGS_EXPORTER: 'none' })).toMatchObject({ logsUrl: undefined, metricsUrl: 'http://c:4318/v1/metrics' });
    expect(otlpExportEnabled(otlpExportFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }))).toBe(false);
  });

  it('names the variable when it cannot be used', () => {
    expect(() => otlpExportFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(
      'OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf is supported, got "grpc"',
    );
    expect(() => otlpExportFromEnv({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'collector:4318' })).toThrow('OTEL_EXPORTER_OTLP_LOGS_ENDPOINT must be an http(s) URL, got "collector:4318"');
    expect(() => otlpExportFromEnv({ FLEETTRACE_OTEL_COUNTS_TOP: '0' })).toThrow('FLEETTRACE_OTEL_COUNTS_TOP must be a whole number from 1 to 1000, got "0"');
  });

  it('pushes stacks to Pyroscope only when FLEETTRACE_PYROSCOPE_URL is set, and names it when it is no URL', () => {
    expect(otlpExportFromEnv({}).profilesUrl).toBeUndefined();
    const profiles = otlpExportFromEnv({ FLEETTRACE_PYROSCOPE_URL: 'http://pyroscope:4040' });
    expect(profiles.profilesUrl).toBe('http://pyroscope:4040');
    expect(otlpExportEnabled(profiles)).toBe(true);
    expect(() => otlpExportFromEnv({ FLEETTRACE_PYROSCOPE_URL: 'pyroscope:4040' })).toThrow('FLEETTRACE_PYROSCOPE_URL must be an http(s) URL, got "pyroscope:4040"');
  });
});
