import { createHash } from 'node:crypto';

/**
 * The trace of a job is named by the job itself: its trace id is the job's uuid (16 bytes, as W3C
 * trace ids are), the job span's id and each run span's id are hashed from their ids. Any process
 * (the one that created the job, the worker that saw it end, a daemon given a run) derives the same
 * context from ids it already has, so nothing about a trace needs storing or carrying but the ids.
 */
export function jobTraceId(jobId: string): string {
  const hex = jobId.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex) || /^0+$/.test(hex)) throw new RangeError(`job id ${jobId} is not a uuid`);
  return hex;
}

/** 8 bytes of SHA-256 over a kind and an id: "job" for the job span, "run" for each run span. */
export function spanIdOf(kind: 'job' | 'run', id: string): string {
  return createHash('sha256').update(`${kind}:${id}`).digest('hex').slice(0, 16);
}

/** W3C traceparent of a run's span (what a daemon running it would continue), sampled. */
export function runTraceparent(jobId: string, runId: string): string {
  return `00-${jobTraceId(jobId)}-${spanIdOf('run', runId)}-01`;
}
