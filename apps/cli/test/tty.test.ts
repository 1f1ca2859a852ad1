import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runInCgroup, spawnInCgroup } from '@fleettrace/infra';
import { startFleet, type Fleet } from '@fleettrace/testing/fleet';
import { waitForRuns } from '@fleettrace/testing/jobs';
import { apiEnv } from './support/cli';
import { expectOnlyTheResult, liveView, startCli, untilTwoLiveHistograms, WORKLOAD, type TmuxTerminal } from './support/tmux';

const SPINNER = /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] runqlat on 2 hosts: /m;
const ESC = '\x1b';

describe('fleettrace run in a terminal (tmux): the live progress and view, then the result, and nothing left behind', () => {
  let fleet: Fleet;
  let terminal: TmuxTerminal;

  beforeAll(async () => {
    fleet = await startFleet('cli-tty', 2);
  }, 120_000);
  afterEach(() => terminal?.stop());
  afterAll(async () => {
    await fleet?.stop();
  });

  function start(extraEnv: Record<string, string> = {}, args = ['run', 'runqlat', '--duration', '4s']): void {
    const { env, cwd } = apiEnv(fleet.api.url, fleet.token);
    terminal = startCli(args, env, cwd, extraEnv);
  }

  it('redraws one progress line in place while the runs go on, then erases it for the histogram and the hosts', async () => {
    start();
    const running = await terminal.until('both runs running', (screen) => SPINNER.test(screen) && /running 2 · done 0/.test(screen));
    await waitForRuns(fleet.api.client, /^job ([0-9a-f-]{36}):/m.exec(running)![1], ['running']);
    // One line, redrawn: never a second progress line below the first.
    expect(running.match(new RegExp(SPINNER.source, 'gm'))).toHaveLength(1);
    const first = /(\d)s\/4s/.exec(running)![1];
    await runInCgroup(fleet.hosts[0].cgroupPath, WORKLOAD, ['sleep', '100', '2000']);
    const later = await terminal.until('the clock to move on', (screen) => {
      const now = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] runqlat.* (\d)s\/4s/.exec(screen);
      return now !== null && Number(now[1]) > Number(first);
    });
    expect(later.match(new RegExp(SPINNER.source, 'gm'))).toHaveLength(1);

    const done = await terminal.until('the command to end', (screen) => /^\[exit \d+\]$/m.test(screen));
    expect(done).toMatch(/^\[exit 0\]$/m);
    expect(done).toMatch(/^job [0-9a-f-]{36}: runqlat on 2 hosts for 4s$/m);
    // The live line is gone, and no escape sequence was left behind as text.
    expect(done).not.toMatch(SPINNER);
    expect(done).not.toContain(ESC);
    // What a sequence cut in half would leave: "[2K" (not a "[2K, 4K)" bucket) or "[31m"-like remnants.
    expect(done).not.toMatch(/\[2K(?!, )|\[(?:\d+;)*\d*m/);
    const lines = done.split('\n');
    const header = lines.findIndex((l) => l.startsWith('@latency (us):'));
    expect(header).toBeGreaterThan(0);
    // The percentiles sit beside the histogram on a terminal this wide.
    expect(lines[header + 1]).toMatch(/\|\s{3,}HOST\s+COUNT\s+P50\s+P90\s+P99\s+MAX$/);
    expect(lines[header + 2]).toMatch(/^\[[^\]]+\]?\)?\s+\d+ \|@*\s*\|\s{3,}fleet\s+[\d,]+\s/);
    const hosts = lines.findIndex((l) => l.startsWith('HOST '));
    expect(lines[hosts - 1], done).toBe('');
    expect(lines[hosts + 1]).toMatch(new RegExp(`^${fleet.hosts[0].hostId}\\s+succeeded\\s`));
  });

  it('--interval 1s redraws the merged histogram above the progress line as snapshots come, then leaves only the result', async () => {
    start({}, ['run', 'runqlat', '--interval', '1s', '--duration', '8s']);
    const running = await terminal.until('both runs running', (screen) => SPINNER.test(screen) && /running 2 · done 0/.test(screen));
    const jobId = /^job ([0-9a-f-]{36}):/m.exec(running)![1];
    await waitForRuns(fleet.api.client, jobId, ['running']);
    // Wake-ups all along the run, so that each snapshot holds more than the one before.
    const load = spawnInCgroup(fleet.hosts[0].cgroupPath, WORKLOAD, ['sleep', '4000', '1000'], { stdio: 'ignore' });
    await untilTwoLiveHistograms(terminal, liveView('\\d hosts?'), SPINNER);
    const done = await terminal.until('the command to end', (screen) => /^\[exit \d+\]$/m.test(screen));
    load.kill();
    expectOnlyTheResult(done, SPINNER);
    expect(done).toMatch(new RegExp(`^${fleet.hosts[0].hostId}\\s+succeeded\\s`, 'm'));
  });

  it('draws in color on a terminal, and in none with NO_COLOR', async () => {
    start();
    const colored = await terminal.until('the end', (screen) => /^\[exit \d+\]$/m.test(screen));
    expect(colored).toMatch(/^\[exit 0\]$/m);
    expect(terminal.screen(true)).toMatch(/\x1b\[[0-9;]*3[12]m/);
    terminal.stop();

    start({ NO_COLOR: '1' });
    const plain = await terminal.until('the end', (screen) => /^\[exit \d+\]$/m.test(screen));
    expect(plain).toMatch(/^\[exit 0\]$/m);
    expect(terminal.screen(true)).not.toMatch(/\x1b\[[0-9;]*m/);
  });
});
