// A runner for simulated hosts: it speaks the runner protocol (libs/runner protocol.ts) to the
// daemon's own RunExecutor in the order a catalog run does (catalog-run.ts: loading, running, at
// the duration or when stopped draining, its events, done), with made-up results shaped by the
// program's manifest, and loads nothing into the kernel. The executor then reports the run exactly
// as for a real runner: `dispatched` first, its summary (`cancelled` when stopped) last.
import type { AggregateOutput, EventRecord, EventsSummary, FieldValue } from '@fleettrace/contracts';
import { getProgram, type FieldLayout, type OutputSpec } from '@fleettrace/programs';
import type { RunnerMessage, RunnerStart } from '../../libs/runner/src/protocol';
import type { RunnerLauncher } from '../../libs/runner/src/run-executor';
import { limitsReport } from '../../libs/runner/src/run-session';

export interface SyntheticRunOptions {
  /** Records each events output reports at the end of a run. */
  eventsPerOutput: number;
  now?: () => number;
}

/** What a program's outputs hold after a run on a simulated host: a few plausible values, the same for the same seed. */
export function syntheticResults(outputs: readonly OutputSpec[], seed: number, eventsPerOutput: number, nowMs: number): {
  aggregates: AggregateOutput[];
  events: Array<{ output: string; timeField: string; records: EventRecord[] }>;
} {
  const aggregates: AggregateOutput[] = [];
  const events: Array<{ output: string; timeField: string; records: EventRecord[] }> = [];
  for (const output of outputs) {
    if (output.kind === 'events') {
      const records = Array.from({ length: eventsPerOutput }, (_, i) => {
        const record = recordOf(output.layout.fields, seed + i);
        // Epoch nanoseconds, past 2^53: a decimal string, as the runner sends them.
        record[output.timeField] = (BigInt(nowMs - eventsPerOutput + i) * 1_000_000n).toString();
        return record;
      });
      events.push({ output: output.name, timeField: output.timeField, records });
    } else if (output.kind === 'hist') {
      const buckets = [3, 4, 5, 6, 7].map((k) => ({ low: 2 ** k, high: 2 ** (k + 1), count: 1 + ((seed * (k + 1)) % 17) }));
      aggregates.push({ kind: 'hist', name: output.name, unit: output.unit, buckets });
    } else if (output.stacks) {
      const entries = [0, 1, 2].map((i) => ({ stack: `sim-${i};main;work_${i};schedule_[k]`, value: 1 + ((seed + i) % 23) }));
      aggregates.push({ kind: 'stacks', name: output.name, unit: output.unit, entries, unsymbolized: 0, lost: 0 });
    } else {
      const fields = output.keyLayout.fields.filter((f) => output.keyFields.includes(f.name));
      const entries = [0, 1, 2, 3, 4].map((i) => ({ key: recordOf(fields, i), value: 1 + ((seed + i) % 97) }));
      aggregates.push({ kind: 'counts', name: output.name, unit: output.unit, keyFields: output.keyFields, entries });
    }
  }
  return { aggregates, events };
}

function recordOf(fields: readonly FieldLayout[], n: number): EventRecord {
  const record: EventRecord = {};
  for (const field of fields) record[field.name] = valueOf(field, n);
  return record;
}

function valueOf(field: FieldLayout, n: number): FieldValue {
  if (typeof field.type === 'string') return 1000 + n;
  if ('char' in field.type) return `sim-${n % 8}`;
  return field.format === 'ip' || field.format === 'ip6' ? '10.0.0.1' : String(n);
}

/**
 * Starts "runners" that report in the real one's order without a process or BPF: `running` at
 * once, results at the duration, or at once when stopped (the host was told to cancel).
 */
export function syntheticLauncher(options: SyntheticRunOptions): RunnerLauncher {
  const now = options.now ?? Date.now;
  let runs = 0;
  return (start: RunnerStart, _killAfterMs: number, onMessage: (message: RunnerMessage) => void) => {
    let stop: () => void = () => undefined;
    const stopped = new Promise<'stopped'>((resolve) => (stop = () => resolve('stopped')));
    const seed = runs++;
    const outcome = (async () => {
      // Messages come asynchronously, as over a runner's IPC channel.
      await Promise.resolve();
      if (typeof start.program === 'object' && start.program.kind === 'c') onMessage({ type: 'state', state: 'compiling' });
      onMessage({ type: 'state', state: 'loading' });
      onMessage({ type: 'state', state: 'running' });
      let timer: NodeJS.Timeout | undefined;
      const elapsed = new Promise<'elapsed'>((resolve) => (timer = setTimeout(() => resolve('elapsed'), start.durationSeconds * 1000)));
      const ended = await Promise.race([elapsed, stopped]);
      clearTimeout(timer);
      onMessage({ type: 'state', state: 'draining' });
      const program = typeof start.program === 'string' ? getProgram(start.program) : undefined;
      const results = syntheticResults(program?.outputs ?? [], seed, options.eventsPerOutput, now());
      for (const batch of results.events) onMessage({ type: 'events', ...batch });
      const summaries: EventsSummary[] = results.events.map((e) => ({ kind: 'events', name: e.output, received: e.records.length, dropped: 0 }));
      const received = summaries.reduce((sum, e) => sum + e.received, 0);
      onMessage({
        type: 'done',
        outputs: results.aggregates,
        events: summaries,
        counters: { events: received, lostEvents: 0, droppedEvents: 0, droppedByRate: 0 },
        stoppedEarly: ended === 'stopped',
        scope: 'host',
        limits: limitsReport(start.limits, { mapMemory: { notApplied: 'a simulated run loads nothing' } }),
      });
      return { exitCode: 0, signal: null, killedByWatchdog: false, stderrTail: '' };
    })();
    // No process of its own: the simulator's pid stands in for the runner's in the executor's logs;
    // nothing to kill either (a simulated run never overruns: it ends at its duration).
    return { pid: process.pid, stop, kill: stop, outcome };
  };
}
