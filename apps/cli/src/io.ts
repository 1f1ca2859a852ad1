/** One output stream as commands see it: text goes in, and what kind of terminal (if any) it is. */
export interface OutputStream {
  write(text: string): void;
  readonly isTTY: boolean;
  /** Terminal width; undefined when not a terminal. */
  readonly columns: number | undefined;
  /** Terminal height; undefined when not a terminal. */
  readonly rows: number | undefined;
  /** Whether ANSI colors may be written: a TTY and NO_COLOR unset. (Redrawing a line needs only a TTY.) */
  readonly color: boolean;
}

/**
 * Everything a command touches outside itself, so a command can be run in a test with strings for
 * streams: data goes to `stdout`, progress, warnings and errors to `stderr`.
 */
export interface Io {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Calls `handler` on every Ctrl-C until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
}

/** https://no-color.org: any non-empty NO_COLOR turns colors off. A dumb terminal gets none either. */
export function colorAllowed(isTTY: boolean, env: Io['env']): boolean {
  return isTTY && !env.NO_COLOR && env.TERM !== 'dumb';
}

function streamOf(stream: NodeJS.WriteStream, env: Io['env']): OutputStream {
  return {
    write: (text) => void stream.write(text),
    isTTY: stream.isTTY === true,
    get columns() {
      return stream.isTTY ? stream.columns : undefined;
    },
    get rows() {
      return stream.isTTY ? stream.rows : undefined;
    },
    color: colorAllowed(stream.isTTY === true, env),
  };
}

export function processIo(): Io {
  return {
    stdout: streamOf(process.stdout, process.env),
    stderr: streamOf(process.stderr, process.env),
    env: process.env,
    cwd: process.cwd(),
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      return () => void process.off('SIGINT', handler);
    },
  };
}
