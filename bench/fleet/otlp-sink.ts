// The benchmark's OTLP collector: an endpoint that answers 200 to every export and only counts
// them. It runs as its own process (otlp-sink-main.ts), as a collector would, so the 30-odd MB/s it
// receives never shares an event loop with the producer that keeps ingest's backlog full; its CPU is
// measured beside the API's.
import { fileURLToPath } from 'node:url';
import { tail } from './log-tail';
import { COUNTS_PATH, type SinkCounts } from './otlp-sink-server';
import { REPO_ROOT, StopWaiting, freePort, isAlive, startDetached, stopPid, waitFor } from '../../infra/stack/index';

export interface OtlpSink {
  url: string;
  pid: number;
  /** What it received so far. */
  counts(): Promise<SinkCounts>;
  close(): Promise<void>;
}

const SINK_MAIN = fileURLToPath(new URL('./otlp-sink-main.ts', import.meta.url));

/** Starts the sink process; resolves once it answers. Stop it with close() (by its pid). */
export async function startOtlpSink(logFile: string): Promise<OtlpSink> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { pid } = startDetached(process.execPath, ['--import', 'tsx', SINK_MAIN, '--port', String(port)], logFile, { cwd: REPO_ROOT });
  const counts = async (): Promise<SinkCounts> => {
    const response = await fetch(`${url}${COUNTS_PATH}`);
    if (!response.ok) throw new Error(`the OTLP sink answered ${response.status}`);
    return (await response.json()) as SinkCounts;
  };
  const close = () => stopPid(pid);
  try {
    await waitFor(
      'the OTLP sink to listen',
      async () => {
        // Exited (its port taken since freePort chose it, say): say why now, not after the timeout.
        if (!isAlive(pid)) throw new StopWaiting(`the OTLP sink exited:\n${tail(logFile, 20)}`);
        return counts().then(() => true, () => false);
      },
      30_000,
      100,
    );
  } catch (error) {
    await close();
    throw error;
  }
  return { url, pid, counts, close };
}
