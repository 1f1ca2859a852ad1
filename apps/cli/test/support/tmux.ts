import { execFileSync } from 'node:child_process';
import { StopWaiting, waitFor } from '@fleettrace/infra/stack';

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
