/** Hard ceilings of the wire format. Server policy may set lower ones, never higher. */
export const MAX_DURATION_SECONDS = 3600;
export const MAX_TARGET_HOST_IDS = 1000;
/** Characters of a target selector's text: generous for hand-written ones, a bound on parsing work. */
export const MAX_SELECTOR_LENGTH = 4096;
export const MAX_SAMPLE_SEED_LENGTH = 128;
/** Events kept per run and output; the rest are dropped and counted, so a chatty host cannot flood Postgres. */
export const DEFAULT_MAX_EVENTS_PER_RUN = 10_000;
/** Seconds past the duration before the daemon SIGKILLs a runner that did not detach itself. */
export const DEFAULT_GRACE_SECONDS = 5;
/** Seconds a host may take to start a run before it is marked missed rather than run late. */
export const DEFAULT_START_DEADLINE_SECONDS = 30;
/**
 * Seconds a run of a started stage may wait `pending` for a free run slot on its host (every slot
 * taken by other runs) before it ends `missed`: a host busy for this long is not going to answer
 * this job's question in time to matter.
 */
export const DEFAULT_SLOT_WAIT_SECONDS = 600;
/** Seconds a C program may take to compile on its host, before its duration starts. */
export const C_COMPILE_ALLOWANCE_SECONDS = 30;
/**
 * Seconds bpftrace may take to compile its script (LLVM, on the host) and attach, before the run's
 * duration starts: ~0.2 s on an idle host, seconds on a busy one. A host that measured a slower
 * start gets more (run-deadline.ts startAllowanceSeconds).
 */
export const BPFTRACE_START_ALLOWANCE_SECONDS = 15;

/**
 * Resource limits of one run (ARCHITECTURE "Time limits, in layers", 5). A job may lower or raise
 * them within the server's policy (`CreateJobRequest.limits`); the run summary reports the values
 * that applied and what they did.
 */
/** Kernel memory the object's maps may take, estimated from their definitions before load. */
export const DEFAULT_MAP_MEMORY_BYTES = 64 * 1024 * 1024;
export const MIN_MAP_MEMORY_BYTES = 4096;
export const MAX_MAP_MEMORY_BYTES = 1024 * 1024 * 1024;
/** Events per second a run's programs may emit (counted in the kernel, before the ring buffer); the excess is dropped and counted. */
export const DEFAULT_EVENTS_PER_SECOND = 10_000;
export const MAX_EVENTS_PER_SECOND = 1_000_000;
/** BPF CPU time a run may cost, in percent of one CPU over a window; past it the run detaches and ends `budget_exceeded`. */
export const DEFAULT_OVERHEAD_BUDGET_PERCENT = 2;
export const MAX_OVERHEAD_BUDGET_PERCENT = 100;
export const DEFAULT_OVERHEAD_WINDOW_MS = 1000;
/**
 * Entries kept per counts or stacks output (the largest); the rest are dropped and counted, so a
 * map keyed by something unbounded (a path, a stack) cannot flood the summary or Postgres.
 */
export const DEFAULT_MAX_ENTRIES_PER_OUTPUT = 10_000;
