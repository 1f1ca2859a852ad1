import { probeHostCapabilities } from './capability-report';
import { serveRemoteRunner } from './stdio-serve';

// The runner on a host reached over SSH, in one of two modes:
//   node runner.mjs --capabilities          the host's capability report (as a daemon makes its own), one JSON line
//   node runner.mjs --idle-exit-after-ms N  runs one after another, the protocol on stdio (stdio-serve.ts), each start awaited N ms at most
if (process.argv.includes('--capabilities')) {
  probeHostCapabilities(undefined, undefined, { startTimings: true }).then(
    (report) => process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`capability probe failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
} else {
  const at = process.argv.indexOf('--idle-exit-after-ms');
  const idleExitAfterMs = at === -1 ? Number.NaN : Number(process.argv[at + 1]);
  if (!Number.isInteger(idleExitAfterMs) || idleExitAfterMs < 1) {
    process.stderr.write('fleettrace remote runner: --idle-exit-after-ms must be a positive whole number of ms\n');
    process.exit(2);
  }
  serveRemoteRunner(idleExitAfterMs);
}
