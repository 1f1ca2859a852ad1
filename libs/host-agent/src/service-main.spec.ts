import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { runService, serveUntilSignal, UsageError, type HostService, type ServiceProcess } from './service-main';

class FakeProcess extends EventEmitter implements ServiceProcess {
  written = '';
  exits: number[] = [];
  readonly stderr = { write: (text: string) => (this.written += text) };
  exit(code: number): void {
    this.exits.push(code);
  }
}

function recordingService(calls: string[]): HostService {
  return {
    start: async () => void calls.push('start'),
    stop: async () => void calls.push('stop'),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('serveUntilSignal', () => {
  it('starts the service, stops it on SIGTERM (or SIGINT), and resolves 0', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const io = new FakeProcess();
      const calls: string[] = [];
      const code = serveUntilSignal('svc', async () => recordingService(calls), io);
      await settle();
      expect(calls).toEqual(['start']);
      io.emit(signal);
      expect(await code).toBe(0);
      expect(calls).toEqual(['start', 'stop']);
      expect(io.written).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z svc stopping\n$/);
    }
  });

  it('a usage error is exit 2 with the name and message, and nothing starts', async () => {
    const io = new FakeProcess();
    const code = await serveUntilSignal('svc', async () => {
      throw new UsageError('--dispatch-key is required');
    }, io);
    expect(code).toBe(2);
    expect(io.written).toBe('svc: --dispatch-key is required\n');
  });

  it('hands the set-up a log writing timestamped lines under the name', async () => {
    const io = new FakeProcess();
    const code = serveUntilSignal('svc', async (log) => {
      log('configured');
      return recordingService([]);
    }, io);
    await settle();
    io.emit('SIGTERM');
    await code;
    expect(io.written.split('\n').filter(Boolean).map((l) => l.replace(/^\S+ /, ''))).toEqual(['svc configured', 'svc stopping']);
  });
});

describe('runService', () => {
  it('exits with the code, and 1 after logging any other error as fatal', async () => {
    const ok = new FakeProcess();
    runService('svc', async () => recordingService([]), ok);
    await settle();
    ok.emit('SIGINT');
    await settle();
    expect(ok.exits).toEqual([0]);

    const failing = new FakeProcess();
    runService('svc', async () => {
      throw new Error('redis refused');
    }, failing);
    await settle();
    expect(failing.exits).toEqual([1]);
    expect(failing.written).toMatch(/ svc fatal: Error: redis refused\n/);
  });
});
