import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@fleettrace/infra/stack';
import { CLI_BIN, cliEnv } from './support/cli';
import { TmuxTerminal } from './support/tmux';

const WORKLOAD = join(REPO_ROOT, 'infra/build/workload');
const SPINNER = /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] runqlat on \S+: events \d+ · \ds\/6s$/m;
const ESC = '\x1b';
/** The live view: the snapshot's time, then this host's histogram, right above the progress line. */
const LIVE_VIEW = /^at (\d\d:\d\d:\d\d\.\d{3}), merged over 1 host:\n\n@latency \(us\):\n((?:\[.*\n)+)/m;

describe('fleettrace local run --interval in a terminal (tmux): the runner\'s snapshots redrawn live, then only the result', () => {
  let terminal: TmuxTerminal | undefined;
  afterEach(() => terminal?.stop());

  it('redraws the histogram above one progress line as snapshots come, then erases both for the result', async () => {
    const { env, cwd } = cliEnv();
    terminal = new TmuxTerminal(160, 50);
    terminal.start(`${process.execPath} ${CLI_BIN} local run runqlat --interval 1s --duration 6s`, { HOME: env.HOME, PATH: env.PATH }, cwd);
    await terminal.until('the run to trace', (screen) => /^Tracing runqlat on \S+ for 6s; Ctrl-C ends it sooner\.$/m.test(screen));
    // Wake-ups all along the run, so that each snapshot holds more than the one before.
    const load = spawn(WORKLOAD, ['sleep', '4000', '1000'], { stdio: 'ignore' });
    try {
      const renderings = new Set<string>();
      await terminal.until('two different live histograms', (screen) => {
        const live = LIVE_VIEW.exec(screen);
        if (live) {
          expect(screen.match(new RegExp(SPINNER.source, 'gm')), screen).toHaveLength(1);
          expect(live[2]).toMatch(/^\[[^\n]+\d+ \|@*\s*\|$/m);
          renderings.add(live[2]);
        }
        return renderings.size >= 2;
      }, 20_000);
      const done = await terminal.until('the command to end', (screen) => /^\[exit \d+\]$/m.test(screen));
      expect(done).toMatch(/^\[exit 0\]$/m);
      expect(done).not.toMatch(/^at \d\d:\d\d:\d\d\.\d{3}, merged over/m);
      expect(done).not.toMatch(SPINNER);
      expect(done.match(/^@latency \(us\):/gm)).toHaveLength(1);
      expect(done).not.toContain(ESC);
      expect(done).not.toMatch(/\[2K(?!, )|\[\d*[AJ]|\[(?:\d+;)*\d*m/);
      expect(done).toMatch(/^\S+\s+succeeded\s+0\s+0\s+0\s+[\d.]+s$/m);
    } finally {
      load.kill();
    }
  });
});
