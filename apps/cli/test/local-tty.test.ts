import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv } from './support/cli';
import { expectOnlyTheResult, liveView, startCli, untilTwoLiveHistograms, WORKLOAD, type TmuxTerminal } from './support/tmux';

const SPINNER = /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] runqlat on \S+: events \d+ · \ds\/6s$/m;

describe('fleettrace local run --interval in a terminal (tmux): the runner\'s snapshots redrawn live, then only the result', () => {
  let terminal: TmuxTerminal | undefined;
  afterEach(() => terminal?.stop());

  it('redraws the histogram above one progress line as snapshots come, then erases both for the result', async () => {
    const { env, cwd } = cliEnv();
    terminal = startCli(['local', 'run', 'runqlat', '--interval', '1s', '--duration', '6s'], env, cwd);
    await terminal.until('the run to trace', (screen) => /^Tracing runqlat on \S+ for 6s; Ctrl-C ends it sooner\.$/m.test(screen));
    // Wake-ups all along the run, so that each snapshot holds more than the one before.
    const load = spawn(WORKLOAD, ['sleep', '4000', '1000'], { stdio: 'ignore' });
    try {
      await untilTwoLiveHistograms(terminal, liveView('1 host'), SPINNER);
      const done = await terminal.until('the command to end', (screen) => /^\[exit \d+\]$/m.test(screen));
      expectOnlyTheResult(done, SPINNER);
      expect(done).toMatch(/^\S+\s+succeeded\s+0\s+0\s+0\s+[\d.]+s$/m);
    } finally {
      load.kill();
    }
  });
});
