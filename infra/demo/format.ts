import type { EventRecord, HistBucket, HistOutput, JobResultsView, OutputView } from '@fleettrace/contracts';

function pad(text: string, width: number): string {
  return text.length >= width ? text.slice(0, width) : text + ' '.repeat(width - text.length);
}

/** The smallest bucket bound below which `share` of the samples fall: a percentile from merged buckets. */
export function percentileUpperBound(buckets: HistBucket[], share: number): number | undefined {
  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  if (total === 0) return undefined;
  let seen = 0;
  for (const bucket of [...buckets].sort((a, b) => a.low - b.low)) {
    seen += bucket.count;
    if (seen >= share * total) return bucket.high;
  }
  return undefined;
}

/** A log2 histogram drawn the way runqlat/biolatency users know it. */
export function formatHistogram(hist: HistOutput, width = 40): string {
  const buckets = [...hist.buckets].sort((a, b) => a.low - b.low);
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  const lines = [`${pad(`     ${hist.unit}`, 24)}: count    distribution`];
  for (const b of buckets) {
    const bar = '*'.repeat(Math.round((b.count / max) * width));
    lines.push(`${String(b.low).padStart(10)} -> ${pad(String(b.high - 1), 9)}: ${pad(String(b.count), 8)} |${pad(bar, width)}|`);
  }
  const p50 = percentileUpperBound(buckets, 0.5);
  const p99 = percentileUpperBound(buckets, 0.99);
  lines.push(`${total} samples; p50 < ${p50 ?? '-'} ${hist.unit}, p99 < ${p99 ?? '-'} ${hist.unit}`);
  return lines.join('\n');
}

/** Event times are epoch nanoseconds, past 2^53: subtract as bigints, then show seconds. */
function seconds(ns: EventRecord[string], origin: bigint): string {
  return (Number(BigInt(String(ns)) - origin) / 1e9).toFixed(3);
}

export function formatExecEvents(records: EventRecord[], limit = 25): string {
  const origin = records.length ? BigInt(String(records[0].time_ns)) : 0n;
  const header = `${pad('TIME(s)', 9)}${pad('HOST', 10)}${pad('PID', 8)}${pad('PPID', 8)}${pad('RET', 5)}${pad('COMM', 17)}ARGS`;
  const rows = records.slice(0, limit).map((r) => {
    const args = Array.isArray(r.args) ? (r.args as unknown[]).join(' ') : String(r.args ?? r.filename ?? '');
    return `${pad(seconds(r.time_ns, origin), 9)}${pad(String(r.host), 10)}${pad(String(r.pid), 8)}${pad(String(r.ppid), 8)}${pad(String(r.retval), 5)}${pad(String(r.comm), 17)}${args}`;
  });
  const more = records.length > limit ? [`... ${records.length - limit} more`] : [];
  return [header, ...rows, ...more].join('\n');
}

function findOutput(outputs: OutputView[], kind: OutputView['kind']): OutputView | undefined {
  return outputs.find((o) => o.kind === kind);
}

/** Merged answer first, then each host's own, as an operator reads them. */
export function formatResults(title: string, results: JobResultsView): string {
  const lines = [`== ${title} (job ${results.jobId}, ${results.state})`];
  lines.push(`hosts: ${results.hosts.map((h) => `${h.hostId} ${h.state}${h.error ? ` (${h.error})` : ''}`).join(', ')}`);
  const events = findOutput(results.merged, 'events');
  if (events?.kind === 'events') {
    lines.push(`\nmerged events (${events.records.length} shown):`, formatExecEvents(events.records));
    for (const host of results.hosts) {
      const own = findOutput(host.outputs, 'events');
      if (own?.kind === 'events') lines.push(`  ${host.hostId}: ${own.received} events received, ${own.dropped} dropped`);
    }
  }
  const hist = findOutput(results.merged, 'hist');
  if (hist?.kind === 'hist') {
    lines.push(`\nmerged ${hist.name} over ${results.hosts.length} hosts:`, formatHistogram(hist));
    for (const host of results.hosts) {
      const own = findOutput(host.outputs, 'hist');
      if (own?.kind === 'hist') {
        const total = own.buckets.reduce((sum, b) => sum + b.count, 0);
        lines.push(`  ${host.hostId}: ${total} samples, p50 < ${percentileUpperBound(own.buckets, 0.5) ?? '-'} ${own.unit}, p99 < ${percentileUpperBound(own.buckets, 0.99) ?? '-'} ${own.unit}`);
      }
    }
  }
  return lines.join('\n');
}
