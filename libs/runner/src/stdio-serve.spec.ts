import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveRunLimits, type RunLimits } from '@fleettrace/contracts';
import type { RunnerStart } from './protocol';
import { encodeLine, READY_LINE, serveRunnerOverStdio, STOP_LINE } from './stdio-serve';

const limits = (resolveRunLimits(undefined) as { limits: RunLimits }).limits;
const start: RunnerStart = { type: 'start', runId: 'r1', program: 'not-in-the-catalog', params: {}, durationSeconds: 5, cgroupId: null, limits };

const READY = JSON.parse(READY_LINE) as { type: string };

function serve(idleExitAfterMs = 60_000, heldObjects: () => Record<string, number> = () => ({})) {
  const input = new PassThrough();
  const output = new PassThrough();
  let written = '';
  output.on('data', (chunk: Buffer) => (written += chunk.toString()));
  let exited: (code: number) => void = () => {};
  const exitCode = new Promise<number>((resolve) => (exited = resolve));
  serveRunnerOverStdio({ input, output, idleExitAfterMs, exit: (code) => exited(code), resolveProgram: () => undefined, heldObjects });
  const lines = () => written.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string; error?: string; unsupported?: boolean });
  const readyCount = (n: number) => new Promise<void>((resolve) => {
    const check = (): void => {
      if (lines().filter((l) => l.type === 'ready').length >= n) resolve();
      else output.once('data', check);
    };
    check();
  });
  return { input, exitCode, lines, readyCount };
}

afterEach(() => vi.useRealTimers());

describe('the runner protocol over stdio', () => {
  const unsupported = { type: 'failed', unsupported: true, error: `program "not-in-the-catalog" is not in this runner's catalog` };

  it('says it is ready, runs the start it reads and writes its reports, one JSON line each, and is ready again; its input ending then exits it 0', async () => {
    const runner = serve();
    runner.input.write(encodeLine({ ...start, exitAfterMs: 20_000 }));
    await runner.readyCount(2);
    expect(runner.lines()).toEqual([READY, unsupported, READY]);
    runner.input.end();
    expect(await runner.exitCode).toBe(0);
  });

  it('serves the next start in the same process, and ignores a stop that arrives after its run ended', async () => {
    const runner = serve();
    runner.input.write(encodeLine({ ...start, exitAfterMs: 20_000 }));
    await runner.readyCount(2);
    runner.input.write(`${STOP_LINE}\n`);
    runner.input.write(encodeLine({ ...start, runId: 'r2', exitAfterMs: 20_000 }));
    await runner.readyCount(3);
    expect(runner.lines()).toEqual([READY, unsupported, READY, unsupported, READY]);
    runner.input.end();
    expect(await runner.exitCode).toBe(0);
  });

  it('exits after a run that left a kernel object open, and says why on stderr, instead of taking another', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const runner = serve(60_000, () => ({ 'bpf-map': 1 }));
    runner.input.write(encodeLine({ ...start, exitAfterMs: 20_000 }));
    expect(await runner.exitCode).toBe(0);
    expect(runner.lines()).toEqual([READY, unsupported]);
    expect(stderr).toHaveBeenCalledWith('fleettrace remote runner: exiting, the run left 1 bpf-map open\n');
    stderr.mockRestore();
  });

  it('answers a start that is not one with a failed report and exit 2', async () => {
    const runner = serve();
    runner.input.write('{"type":"nonsense"}\n');
    expect(await runner.exitCode).toBe(2);
    expect(runner.lines()).toEqual([READY, { type: 'failed', error: 'the runner\'s start message is not valid: expected a start message, got {"type":"nonsense"}' }]);
  });

  it('exits 1 at once when its input ends before any run reported (the SSH session ended)', async () => {
    const runner = serve();
    runner.input.end();
    expect(await runner.exitCode).toBe(1);
    expect(runner.lines()).toEqual([READY]);
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
    expect(runner.lines()[1]!.error).toBe("the runner's start message is not valid: exitAfterMs must be a positive whole number of ms, got undefined");
  });

  it('knows the stop line it is sent', () => {
    expect(encodeLine({ type: 'stop' })).toBe(`${STOP_LINE}\n`);
  });
});
