import type { Io, OutputStream } from '../io';

/** An output stream that keeps what is written, for specs. */
export interface MemoryStream extends OutputStream {
  text(): string;
}

export function memoryStream(options: { isTTY?: boolean; columns?: number; rows?: number; color?: boolean } = {}): MemoryStream {
  let written = '';
  return {
    write: (text) => void (written += text),
    isTTY: options.isTTY ?? false,
    columns: options.columns,
    rows: options.rows,
    color: options.color ?? false,
    text: () => written,
  };
}

export interface MemoryIo extends Io {
  stdout: MemoryStream;
  stderr: MemoryStream;
  /** Delivers a Ctrl-C to whoever listens. */
  interrupt(): void;
}

export function memoryIo(overrides: { env?: Io['env']; cwd?: string; stdout?: MemoryStream; stderr?: MemoryStream } = {}): MemoryIo {
  const handlers = new Set<() => void>();
  return {
    stdout: overrides.stdout ?? memoryStream(),
    stderr: overrides.stderr ?? memoryStream(),
    env: overrides.env ?? {},
    cwd: overrides.cwd ?? '/nonexistent',
    onInterrupt(handler) {
      handlers.add(handler);
      return () => void handlers.delete(handler);
    },
    interrupt() {
      for (const handler of [...handlers]) handler();
    },
  };
}
