// The benchmark's OTLP collector's server, in a module of its own that imports nothing but node:http:
// the sink process (otlp-sink-main.ts) must stay small. In a process that had loaded the stack's
// modules the same server took 0.65-0.85 us of CPU an event where it takes 0.29-0.43 like this
// (1,000 requests of 365 KB), CPU the benchmark's API, on the same cores, then lacks. Likely
// collection: every read brings a new 64 KiB buffer, and it ran 15 old-space collections over those
// requests where alone it ran none (docs/telemetry.md, Cost).
import { createServer, type Server } from 'node:http';

export interface SinkCounts {
  requests: number;
  bytes: number;
}

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
