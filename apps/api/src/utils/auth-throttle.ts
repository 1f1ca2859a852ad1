/**
 * Failed authentications per client address in a sliding window. Past `limit` failures within
 * `windowMs`, the address is refused (429) until its oldest counted failure leaves the window, even
 * with a valid token: guessing must cost the guesser time, and a throttled address learns nothing
 * from its attempts. Held in memory per API process: N replicas allow N times the limit.
 */
export class AuthThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    /** Addresses remembered at most; the least recently failed are forgotten first, so a spray of addresses cannot grow memory without bound. */
    private readonly maxAddresses = 100_000,
  ) {}

  /** Seconds the address must wait before trying again, or 0 when it may try now. */
  retryAfterSeconds(address: string): number {
    const recent = this.recent(address);
    if (recent.length < this.limit) return 0;
    const oldest = recent[recent.length - this.limit];
    return Math.max(1, Math.ceil((oldest + this.windowMs - this.now()) / 1000));
  }

  /** Counts a failure; returns whether this one reached the limit (the moment worth recording). */
  fail(address: string): boolean {
    const recent = this.recent(address);
    recent.push(this.now());
    this.failures.delete(address);
    this.failures.set(address, recent.slice(-this.limit));
    if (this.failures.size > this.maxAddresses) this.failures.delete(this.failures.keys().next().value!);
    return recent.length === this.limit;
  }

  private recent(address: string): number[] {
    const since = this.now() - this.windowMs;
    const kept = (this.failures.get(address) ?? []).filter((t) => t > since);
    if (kept.length === 0) this.failures.delete(address);
    return kept;
  }
}
