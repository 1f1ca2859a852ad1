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

/** Rows left free below the live region, so it never reaches the top of the screen (lines scrolled past it cannot be redrawn). */
const SPARE_ROWS = 2;

/**
 * Progress on stderr. On a terminal, a live region redrawn in place: a view of the data so far (a
 * job's latest snapshot) above one progress line with a spinner; notes that stay (a host failing,
 * and why) and data written meanwhile go above it. Elsewhere (a log, CI) a plain line each time the
 * progress changes, and no view. `finish()` erases the region, so nothing of it is left in the
 * scrollback.
 */
export class ProgressReporter {
  private frame = 0;
  private lastPlain = '';
  private text = '';
  private view: readonly string[] = [];
  /** Lines of the region on screen now; the cursor is at the end of the last. */
  private drawn = 0;

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
    this.text = text;
    this.redraw();
    this.frame++;
  }

  /** Lines shown above the progress line while it lives: on a terminal only (a log gets the result at the end). */
  setView(lines: readonly string[]): void {
    if (!this.err.isTTY) return;
    this.view = lines;
    this.redraw();
  }

  /** A line that stays (a host's failure and its reason): printed above the live region. */
  note(line: string): void {
    this.err.write(`${this.clearing()}${line}\n`);
    this.drawn = 0;
    this.redraw();
  }

  /** Data written to `out` while the region is on screen: above it, when both share the terminal, so neither garbles the other. */
  print(out: OutputStream, text: string): void {
    if (!out.isTTY || this.drawn === 0) return out.write(text);
    this.err.write(this.clearing());
    this.drawn = 0;
    out.write(text);
    this.redraw();
  }

  finish(): void {
    const clear = this.clearing();
    if (clear) this.err.write(clear);
    this.drawn = 0;
    this.text = '';
    this.view = [];
  }

  /** What erases the region: back to its first line, then to the end of the screen. */
  private clearing(): string {
    if (this.drawn === 0) return '';
    return `\r${this.drawn > 1 ? `\x1b[${this.drawn - 1}A` : ''}\x1b[J`;
  }

  private redraw(): void {
    if (!this.err.isTTY || this.text === '') return;
    const room = Math.max(0, (this.err.rows ?? 24) - SPARE_ROWS - 1);
    const view = this.view.length > room ? [...this.view.slice(0, Math.max(0, room - 1)), '…'] : this.view;
    const spinner = SPINNER[this.frame % SPINNER.length];
    const lines = [...view, `${spinner} ${this.text}`].map((line) => fit(line, this.err.columns));
    // One write: the terminal never shows the region half erased.
    this.err.write(`${this.drawn > 0 ? this.clearing() : '\r\x1b[J'}${lines.join('\n')}`);
    this.drawn = lines.length;
  }
}
