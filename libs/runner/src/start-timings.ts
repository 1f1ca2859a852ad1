import { execFile } from 'node:child_process';
import { openObject } from '@fleettrace/bpf-loader';
import type { StartTimings } from '@fleettrace/contracts';
import { getProgram } from '@fleettrace/programs';
import { findBpftrace } from './bpftrace-run';

/** The catalog program the loader dry-run loads: a tracepoint every kernel we run on has. */
const DRY_RUN_PROGRAM = 'syscount';
/** A bpftrace that takes longer than this to start is not waited for: the host then gets the ceiling. */
const BPFTRACE_PROBE_TIMEOUT_MS = 120_000;

/**
 * What a run's start costs on this host (contracts' StartTimings): a catalog object opened, loaded
 * (the verifier and CO-RE relocation against this kernel's BTF) and closed, never attached; and
 * bpftrace started on a script that exits at once (LLVM's start, a compile, an attach). The API
 * scales the host's start allowance by them, so a slow host (an emulated guest, a busy machine)
 * gets the time its runs need to start instead of timing out.
 */
export async function measureStartTimings(): Promise<StartTimings> {
  const program = getProgram(DRY_RUN_PROGRAM);
  if (!program) throw new Error(`the catalog has no ${DRY_RUN_PROGRAM} for the loader dry-run`);
  const loadStarted = performance.now();
  const loaded = openObject(program.objectPath).load();
  loaded.close();
  const loaderMs = Math.round(performance.now() - loadStarted);
  return { loaderMs, bpftraceMs: await timeBpftrace() };
}

/** `bpftrace -e 'BEGIN { exit() }'` from spawn to exit, in ms; null without a bpftrace that runs it. */
function timeBpftrace(): Promise<number | null> {
  const bpftrace = findBpftrace();
  if (!bpftrace) return Promise.resolve(null);
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(bpftrace, ['-e', 'BEGIN { exit(); }'], { timeout: BPFTRACE_PROBE_TIMEOUT_MS, killSignal: 'SIGKILL' }, (error) => {
      resolve(error ? (error.killed ? BPFTRACE_PROBE_TIMEOUT_MS : null) : Math.round(performance.now() - started));
    });
  });
}
