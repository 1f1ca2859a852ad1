import type { JobProgress, RunPhase } from '../job/phases';
import type { OutputStream } from '../io';
import { styleFor, visibleLength } from './style';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const PHASES: readonly RunPhase[] = ['queued', 'running', 'done', 'failed', 'unsupported'];

/** `execsnoop on 3 hosts: queued 0 · running 2 · done 1 · failed 0 · unsupported 0 · events 1,204 · lost 0 · 4s/10s` */
export function progressText(label: string, progress: JobProgress, elapsedSeconds: number, durationSeconds: number, color = false): string {
  const style = styleFor(color);
  const phase = (name: RunPhase) => {
    const count = progress.phases[name];
    const text = `${name} ${count}`;
    if (count === 0) return style.dim(text);
    return name === 'failed' ? style.red(text) : name === 'unsupported' ? style.yellow(text) : name === 'done' ? style.green(text) : text;
  };
  const hosts = `${progress.hosts} host${progress.hosts === 1 ? '' : 's'}`;
  const elapsed = `${Math.floor(elapsedSeconds)}s/${durationSeconds}s`;
  return [
    `${label} on ${hosts}:`,
    [...PHASES.map(phase), `events ${progress.events.toLocaleString('en-US')}`, `lost ${progress.lostEvents.toLocaleString('en-US')}`, elapsed].join(' · '),
  ].join(' ');
}

function fit(text: string, columns: number | undefined): string {
  if (columns === undefined || visibleLength(text) < columns) return text;
  // Cut by visible characters, keeping escape sequences whole, so the line never wraps (a wrapped line cannot be redrawn in place).
  let visible = 0;
  let cut = '';
  for (const token of text.match(/\x1b\[[0-9;]*m|[^\x1b]/g) ?? []) {
    if (token.startsWith('\x1b')) cut += token;
    else if (visible < columns - 2) {
      cut += token;
      visible++;
    }
  }
  return `${cut}…\x1b[0m`;
}

/**
 * Progress on stderr. On a terminal, one line redrawn in place with a spinner, and notes (a host
 * failing, and why) printed above it; elsewhere (a log, CI) a plain line each time it changes.
 * `finish()` erases the live line so nothing of it is left in the scrollback.
 */
export class ProgressReporter {
  private frame = 0;
  private lastPlain = '';
  private live = false;

  constructor(private readonly err: OutputStream) {}

  /**
   * `changeKey` says what a plain line is printed for: by default any change of the text; a job's
   * progress passes its phase counts, so a log gets a line when a host moves on, not one a second
   * for the clock and the events counter.
   */
  update(text: string, changeKey: string = text): void {
    if (!this.err.isTTY) {
      if (changeKey !== this.lastPlain) this.err.write(`${text}\n`);
      this.lastPlain = changeKey;
      return;
    }
    const spinner = SPINNER[this.frame++ % SPINNER.length];
    this.err.write(`\r\x1b[2K${fit(`${spinner} ${text}`, this.err.columns)}`);
    this.live = true;
  }

  /** A line that stays (a host's failure and its reason): printed above the live line. */
  note(line: string): void {
    this.clear();
    this.err.write(`${line}\n`);
  }

  finish(): void {
    this.clear();
  }

  private clear(): void {
    if (this.live) this.err.write('\r\x1b[2K');
    this.live = false;
  }
}
