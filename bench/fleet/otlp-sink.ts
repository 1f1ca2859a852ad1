// The benchmark's OTLP collector: an endpoint that answers 200 to every export and only counts
// them. It runs as its own process (otlp-sink-main.ts), as a collector would, so the 30-odd MB/s it
// receives never shares an event loop with the producer that keeps ingest's backlog full; its CPU is
// measured beside the API's.
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { tail } from './log-tail';
import { REPO_ROOT, StopWaiting, freePort, isAlive, startDetached, stopPid, waitFor } from '../../infra/stack/index';

export interface SinkCounts {
  requests: number;
  bytes: number;
}

export interface OtlpSink {
  url: string;
  pid: number;
  /** What it received so far. */
  counts(): Promise<SinkCounts>;
  close(): Promise<void>;
}

const SINK_MAIN = fileURLToPath(new URL('./otlp-sink-main.ts', import.meta.url));
/** Not an OTLP path: the collector's own count of what it took. */
export const COUNTS_PATH = '/counts';

/** The sink's server, listening on 127.0.0.1:`port` (otlp-sink-main.ts runs it). */
export async function serveOtlpSink(port: number): Promise<Server> {
  const counts: SinkCounts = { requests: 0, bytes: 0 };
  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === COUNTS_PATH) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts));
      return;
    }
    request.on('data', (chunk: Buffer) => (counts.bytes += chunk.length));
    request.on('end', () => {
      counts.requests++;
      // An empty ExportServiceResponse (no partial success) is a zero-length protobuf message.
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return server;
}

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
