import { monotonicNs } from './boot-clock';

/**
 * The run's events-per-second limit where the kernel does not apply it (C programs, bpftrace's
 * printf lines, catalog objects without the common limiter): the same rule as
 * common/rate_limit.bpf.h, in the runner. At most `perSecond` records pass in each one-second
 * window (a window opens with the first record after the previous one closed); the rest are
 * dropped and counted. One limiter per run, shared by its events outputs, as the kernel's is.
 */
export class EventsRateLimiter {
  #windowStartNs = -Infinity;
  #windowCount = 0;
  #dropped = 0;

  constructor(
    readonly perSecond: number,
    private readonly nowNs: () => number = monotonicNs,
  ) {}

  /** How many of `count` records arriving now may pass; the others are counted as dropped. */
  take(count: number): number {
    const now = this.nowNs();
    if (now - this.#windowStartNs >= 1e9) {
      this.#windowStartNs = now;
      this.#windowCount = 0;
    }
    const allowed = Math.max(0, Math.min(count, this.perSecond - this.#windowCount));
    this.#windowCount += allowed;
    this.#dropped += count - allowed;
    return allowed;
  }

  get dropped(): number {
    return this.#dropped;
  }
}
