/**
 * BPF stamps events with bpf_ktime_get_ns(): CLOCK_MONOTONIC, nanoseconds since this host booted.
 * process.hrtime reads the same clock, so one offset, taken once per run, turns those stamps into
 * epoch time that orders events across hosts with different boot times.
 */
/**
 * CLOCK_MONOTONIC in nanoseconds, as a number (exact to the ns for ~104 days of uptime, within a few
 * ns after): the clock of the runner's windows and rates. Not performance.now(), whose first use
 * loads perf_hooks (~2 ms of a local run's start).
 */
export const monotonicNs = (): number => Number(process.hrtime.bigint());

export function monotonicToEpochNs(): (monotonicNs: number | string) => string {
  const offset = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  return (monotonicNs) => (BigInt(monotonicNs) + offset).toString();
}
