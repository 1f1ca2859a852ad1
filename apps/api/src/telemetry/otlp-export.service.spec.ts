import { describe, expect, it, vi } from 'vitest';
import type { ResultMessage } from '@fleettrace/contracts';
import type { ApiConfig } from '../config';
import type { JobRepository } from '../repositories/job.repository';
import type { RunRepository } from '../repositories/run.repository';
import { OtlpExportService } from './otlp-export.service';
import { otlpExportFromEnv } from './otlp-config';

const catalog = { get: () => undefined, names: () => [] };
// Off means no listener either: a completed job costs nothing.
const lifecycle = { onCommitted: () => expect.unreachable('no listener when export is off') };

describe('OTLP export switched off', () => {
  it('builds no exporter and looks nothing up when no endpoint is set', () => {
    const telemetryContexts = vi.fn();
    const runs = { telemetryContexts } as unknown as RunRepository;
    const service = new OtlpExportService({ otlpExport: otlpExportFromEnv({}) } as ApiConfig, catalog, runs, {} as JobRepository, lifecycle);
    expect(service.enabled).toBe(false);
    const message: ResultMessage = { type: 'summary', runId: '00000000-0000-0000-0000-000000000000', at: 0, state: 'succeeded', outputs: [], events: [], counters: { events: 0, lostEvents: 0, droppedEvents: 0 } };
    service.ingested([message]);
    expect(telemetryContexts).not.toHaveBeenCalled();
  });

  it('is off for an API configured without it', () => {
    expect(new OtlpExportService({} as ApiConfig, catalog, {} as RunRepository, {} as JobRepository, lifecycle).enabled).toBe(false);
  });
});
