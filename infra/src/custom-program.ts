// The C source tests submit as a user's own program (kind 'c'): infra/workload/count-getpriority.bpf.c.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('../workload/count-getpriority.bpf.c', import.meta.url));

/** Counts getpriority() per process in map `counts`, one record per call in ring buffer `events` (struct event). */
export function countGetpriorityCSource(): string {
  return readFileSync(SOURCE, 'utf8');
}
