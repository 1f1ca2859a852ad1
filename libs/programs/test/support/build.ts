import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BUILD_SCRIPT = fileURLToPath(new URL('../../scripts/build-bpf.sh', import.meta.url));

/** Builds the catalog's objects from the current sources, so no test runs a stale object. */
export function buildPrograms(): void {
  execFileSync('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'ignore', 'inherit'] });
}
