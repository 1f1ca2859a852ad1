import { afterEach, describe, expect, it, vi } from 'vitest';
import { withTraceContext } from '../telemetry/log-trace-context';
import { StderrLogger } from './stderr-logger';

describe('the API logger and trace context', () => {
  afterEach(() => vi.restoreAllMocks());

  function captured(): string[] {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    return lines;
  }

  it('ends a line written under a span with its trace_id and span_id, across awaits', async () => {
    const lines = captured();
    const logger = new StderrLogger({ logLevels: ['log', 'warn'], colors: false });
    await withTraceContext({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' }, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      logger.warn('results entry 1-0 could not be stored', 'Ingest');
    });
    logger.log('outside any span', 'Ingest');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/results entry 1-0 could not be stored trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7\n$/);
    expect(lines[1]).toMatch(/outside any span\n$/);
    expect(lines[1]).not.toContain('trace_id');
  });
});
