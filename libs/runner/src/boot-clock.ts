/**
 * BPF stamps events with bpf_ktime_get_ns(): CLOCK_MONOTONIC, nanoseconds since this host booted.
 * process.hrtime reads the same clock, so one offset, taken once per run, turns those stamps into
 * epoch time that orders events across hosts with different boot times.
 */
export function monotonicToEpochNs(): (monotonicNs: number | string) => string {
  const offset = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  return (monotonicNs) => (BigInt(monotonicNs) + offset).toString();
}
