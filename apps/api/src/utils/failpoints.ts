/**
 * Fault injection for the fault suite (test/faults): FLEETTRACE_FAILPOINTS names the points at
 * which this process kills itself, to prove what survives a crash exactly there. Unset in any real
 * deployment; read once at start.
 */
const armed = new Set((process.env.FLEETTRACE_FAILPOINTS ?? '').split(',').map((p) => p.trim()).filter(Boolean));

export type Failpoint = 'ingest.after-commit';

/** Dies here, as a power cut or OOM kill would: no cleanup, no graceful shutdown. */
export function failpoint(name: Failpoint): void {
  if (armed.has(name)) process.kill(process.pid, 'SIGKILL');
}
