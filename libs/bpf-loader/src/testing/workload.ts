// The repository's deterministic workload generator (infra/workload, built by `bash infra/workload/build.sh`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function workloadPath(): string {
  const path = fileURLToPath(new URL('../../../../infra/build/workload', import.meta.url));
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`bash infra/workload/build.sh\``);
  return path;
}
