// The benchmark's OTLP sink as its own process: `tsx bench/fleet/otlp-sink-main.ts --port P`.
// Stops on SIGTERM or SIGINT.
import { parseArgs } from 'node:util';
import { runService, UsageError } from '@fleettrace/host-agent/service';
import { serveOtlpSink } from './otlp-sink-server';

runService('otlp-sink', async (log) => {
  const { values } = parseArgs({ options: { port: { type: 'string' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError('usage: otlp-sink-main.ts --port P');
  let server: Awaited<ReturnType<typeof serveOtlpSink>> | undefined;
  return {
    start: async () => {
      server = await serveOtlpSink(port);
      log(`listening on 127.0.0.1:${port}`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.close(() => resolve());
        // The exporters keep their connections alive; close() alone would wait for them.
        server.closeAllConnections();
      }),
  };
});
