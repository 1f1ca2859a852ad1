import { serveRemoteRunner } from './stdio-serve';

// The runner on a host reached over SSH: `node runner.mjs --exit-after-ms N`, protocol on stdio.
const at = process.argv.indexOf('--exit-after-ms');
const exitAfterMs = at === -1 ? Number.NaN : Number(process.argv[at + 1]);
if (!Number.isInteger(exitAfterMs) || exitAfterMs < 1) {
  process.stderr.write('fleettrace remote runner: --exit-after-ms must be a positive whole number of ms\n');
  process.exit(2);
}
serveRemoteRunner(exitAfterMs);
