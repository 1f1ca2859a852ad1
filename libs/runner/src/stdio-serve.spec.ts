import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveRunLimits, type RunLimits } from '@fleettrace/contracts';
import type { RunnerStart } from './protocol';
import { encodeLine, serveRunnerOverStdio, STOP_LINE } from './stdio-serve';

const limits = (resolveRunLimits(undefined) as { limits: RunLimits }).limits;
const start: RunnerStart = { type: 'start', runId: 'r1', program: 'not-in-the-catalog', params: {}, durationSeconds: 5, cgroupId: null, limits };

function serve(idleExitAfterMs = 60_000) {
  const input = new PassThrough();
  const output = new PassThrough();
  let written = '';
  output.on('data', (chunk: Buffer) => (written += chunk.toString()));
  let exited: (code: number) => void = () => {};
  const exitCode = new Promise<number>((resolve) => (exited = resolve));
  serveRunnerOverStdio({ input, output, idleExitAfterMs, exit: (code) => exited(code), resolveProgram: () => undefined });
  return { input, exitCode, lines: () => written.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string; error?: string; unsupported?: boolean }) };
}

afterEach(() => vi.useRealTimers());

describe('the runner protocol over stdio', () => {
  it('runs the start it reads and writes its reports, one JSON line each, then exits 0', async () => {
    const runner = serve();
    runner.input.write(encodeLine({ ...start, exitAfterMs: 20_000 }));
    expect(await runner.exitCode).toBe(0);
    expect(runner.lines()).toEqual([{ type: 'failed', unsupported: true, error: `program "not-in-the-catalog" is not in this runner's catalog` }]);
  });

  it('answers a start that is not one with a failed report and exit 2', async () => {
    const runner = serve();
    runner.input.write('{"type":"stop"}\n');
    expect(await runner.exitCode).toBe(2);
    expect(runner.lines()).toEqual([{ type: 'failed', error: 'the runner\'s start message is not valid: expected a start message, got {"type":"stop"}' }]);
  });

  it('exits 1 at once when its input ends before the run reported (the SSH session ended)', async () => {
    const runner = serve();
    runner.input.end();
    expect(await runner.exitCode).toBe(1);
    expect(runner.lines()).toEqual([]);
  });

  it('exits 4 when no start came within its idle limit', async () => {
    vi.useFakeTimers();
    const runner = serve(20_000);
    vi.advanceTimersByTime(19_999);
    let code: number | undefined;
    void runner.exitCode.then((c) => (code = c));
    await Promise.resolve();
    expect(code).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(await runner.exitCode).toBe(4);
  });

  it('refuses a start without its hard limit', async () => {
    const runner = serve();
    runner.input.write(encodeLine(start as never));
    expect(await runner.exitCode).toBe(2);
    expect(runner.lines()[0]!.error).toBe("the runner's start message is not valid: exitAfterMs must be a positive whole number of ms, got undefined");
  });

  it('knows the stop line it is sent', () => {
    expect(encodeLine({ type: 'stop' })).toBe(`${STOP_LINE}\n`);
  });
});
