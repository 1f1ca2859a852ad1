/**
 * Thrown by a queue handler that cannot do its work yet (e.g. ingest still lags behind the runs it
 * needs); the queue runs the job again after `delayMs` without counting it as a failed attempt.
 */
export class RetryLater extends Error {
  constructor(
    readonly delayMs: number,
    reason: string,
  ) {
    super(reason);
    this.name = 'RetryLater';
  }
}
