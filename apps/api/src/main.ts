import 'reflect-metadata';
import { configFromEnv } from './config';
import { bootstrap } from './bootstrap';

/** Process entry: `node --import tsx apps/api/src/main.ts`, configured through FLEETTRACE_* variables. */
async function main(): Promise<void> {
  const config = configFromEnv();
  const api = await bootstrap(config);
  // The local stack and e2e tests wait for exactly this line.
  if (api.url) process.stdout.write(`fleettrace-api listening on ${api.url}\n`);
  else process.stdout.write('fleettrace-api worker started\n');

  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    process.stderr.write(`fleettrace-api: ${signal}, shutting down\n`);
    setTimeout(() => {
      process.stderr.write(`fleettrace-api: shutdown did not finish within ${config.shutdownTimeoutMs / 1000} s (is Redis or PostgreSQL unreachable?); exiting\n`);
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    api.close().then(
      () => process.exit(0),
      (error: Error) => {
        process.stderr.write(`fleettrace-api: shutdown failed: ${error.stack}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: Error) => {
  process.stderr.write(`fleettrace-api: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
