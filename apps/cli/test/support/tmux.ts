import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import { REPO_ROOT, StopWaiting, waitFor } from '@fleettrace/infra/stack';
import { CLI_BIN } from './cli';

/** The workload binary the terminal tests wake the scheduler with (infra/workload). */
export const WORKLOAD = join(REPO_ROOT, 'infra/build/workload');

/**
 * A terminal for the CLI: a tmux session on a server of its own (its own socket), whose screen a
 * test reads as a person would see it.
 */
export class TmuxTerminal {
  private readonly socket = `ft-cli-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private readonly session = 'cli';

  constructor(
    readonly columns = 160,
    readonly rows = 50,
  ) {}

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /** Runs `command` (a shell line) in a fresh terminal with `env`; the pane stays after it exits, with `[exit N]` printed. */
  start(command: string, env: Record<string, string | undefined>, cwd: string): void {
    const vars = Object.entries(env).flatMap(([key, value]) => (value === undefined ? [] : ['-e', `${key}=${value}`]));
    this.tmux('new-session', '-d', '-s', this.session, '-x', String(this.columns), '-y', String(this.rows), '-c', cwd, ...vars, `${command}; echo "[exit $?]"; sleep 600`);
  }

  /** The screen as text; with `escapes`, the color and attribute sequences tmux would draw with. */
  screen(escapes = false): string {
    return this.tmux('capture-pane', '-p', '-t', this.session, ...(escapes ? ['-e'] : []));
  }

  async until(what: string, check: (screen: string) => boolean, timeoutMs = 30_000): Promise<string> {
    let last = '';
    try {
      await waitFor(what, async () => {
        last = this.screen();
        if (check(last)) return true;
        if (/^\[exit \d+\]$/m.test(last) && !check(last)) throw new StopWaiting(`the command ended first`);
        return false;
      }, timeoutMs, 50);
    } catch (error) {
      throw new Error(`${(error as Error).message}\nscreen:\n${last}`);
    }
    return last;
  }

  stop(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // already gone
    }
  }
}

/**
 * `fleettrace <args>` in a fresh 160×50 terminal, with only the variables a person's shell would
 * pass it (HOME, PATH, and the API's URL and token for fleet commands).
 */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv, cwd: string, extraEnv: Record<string, string> = {}): TmuxTerminal {
  const terminal = new TmuxTerminal(160, 50);
  const { HOME, PATH, FLEETTRACE_URL, FLEETTRACE_TOKEN } = env;
  terminal.start(`${process.execPath} ${CLI_BIN} ${args.join(' ')}`, { HOME, PATH, FLEETTRACE_URL, FLEETTRACE_TOKEN, ...extraEnv }, cwd);
  return terminal;
}

/** The live view of `--interval`: the snapshot's time, then the merged histogram (group 2); `hosts` is a regex fragment. */
export function liveView(hosts: string): RegExp {
  return new RegExp(`^at (\\d\\d:\\d\\d:\\d\\d\\.\\d{3}), merged over ${hosts}:\\n\\n@latency \\(us\\):\\n((?:\\[.*\\n)+)`, 'm');
}

/**
 * Waits for two different renderings of the live histogram, each right above the one progress
 * line (`spinner`), its bars as bpftrace draws them.
 */
export async function untilTwoLiveHistograms(terminal: TmuxTerminal, view: RegExp, spinner: RegExp): Promise<void> {
  const renderings = new Set<string>();
  await terminal.until('two different live histograms', (screen) => {
    const live = view.exec(screen);
    if (live) {
      expect(screen.match(new RegExp(spinner.source, 'gm')), screen).toHaveLength(1);
      expect(live[2]).toMatch(/^\[[^\n]+\d+ \|@*\s*\|$/m);
      renderings.add(live[2]!);
    }
    return renderings.size >= 2;
  }, 20_000);
}

/**
 * The screen once a live run ended: exit 0, the live view and the progress line erased, the
 * result's histogram the only one, and no escape sequence (or half of one) left as text.
 */
export function expectOnlyTheResult(done: string, spinner: RegExp): void {
  expect(done).toMatch(/^\[exit 0\]$/m);
  expect(done).not.toMatch(/^at \d\d:\d\d:\d\d\.\d{3}, merged over/m);
  expect(done).not.toMatch(spinner);
  expect(done.match(/^@latency \(us\):/gm)).toHaveLength(1);
  expect(done).not.toContain('\x1b');
  expect(done).not.toMatch(/\[2K(?!, )|\[\d*[AJ]|\[(?:\d+;)*\d*m/);
}
