import { BtfTypeNotFoundError, MapMemoryLimitError, openObject, u64, type DecodedValue, type LoadedObject, type ObjectSpec, type RingBufferConsumer } from '@fleettrace/bpf-loader';
import { cOutputName, type AggregateOutput, type COutputDecl, type CountEntry, type CProgram, type EventRecord, type FieldValue } from '@fleettrace/contracts';
import { histFromEntries } from '@fleettrace/programs';
import { monotonicToEpochNs } from './boot-clock';
import { compileC } from './c-compile';
import { RunLimitError } from './catalog-run';
import { EventBuffer } from './event-buffer';
import type { RunnerMessage, RunnerStart } from './protocol';
import { limitsReport, resolveRunnerLimits } from './run-limits';
import { sendLiveSnapshots } from './live-snapshots';

export { CCompileError } from './c-compile';

/**
 * The kernel-side scope contract of custom C programs: a program that declares
 * `const volatile __u64 filter_cgroup_id = 0;` gets the run's cgroup id there (0 = no scope) and
 * is expected to skip tasks whose bpf_get_current_cgroup_id() differs. Without it the run is
 * host-wide, and its summary says so (scope: 'host').
 */
export const C_CGROUP_GLOBAL = 'filter_cgroup_id';
const EVENTS_FLUSH_AT = 500;
/** Events outputs without a declared time field get the receive time here, in epoch ns. */
export const RECEIVE_TIME_FIELD = 'time_ns';

/**
 * Compiles (or takes from the cache) a user's C source, loads it through the normal loader path,
 * attaches every program for the run's duration, and reads the declared outputs through the
 * object's BTF: the user declares which map is what, never a layout.
 */
export async function runCProgram(start: RunnerStart, program: CProgram, send: (message: RunnerMessage) => void, stop: Promise<void>): Promise<void> {
  send({ type: 'state', state: 'compiling' });
  const { objectPath } = await compileC(program.source);
  const limits = resolveRunnerLimits(start.limits);

  send({ type: 'state', state: 'loading' });
  const spec = openObject(objectPath);
  let loaded: LoadedObject | undefined;
  try {
    const scoped = start.cgroupId !== null && spec.globals.some((g) => g.name === C_CGROUP_GLOBAL);
    if (scoped) spec.setGlobal(C_CGROUP_GLOBAL, u64(BigInt(start.cgroupId!)));
    for (const output of program.outputs) {
      if (output.kind === 'events' && !hasBtfType(spec, output.recordType)) {
        throw new Error(
          `${output.recordType} (the record type of output "${cOutputName(output)}") is not in the program's BTF: ` +
            `declare a global pointer to it, e.g. \`${output.recordType} *unused_event __attribute__((unused));\``,
        );
      }
    }
    const report = limitsReport(start, limits, spec.estimateMapMemory().totalBytes);
    try {
      // The kernel's BTF, not the runners' minimized-BTF cache: each new source is a new object,
      // whose minimizing (a bpftool run) would cost more than it saves and grow the cache for good.
      loaded = spec.load({ mapMemoryLimitBytes: limits.mapMemoryBytes, coreBtf: null });
    } catch (error) {
      if (error instanceof MapMemoryLimitError) throw new RunLimitError(error.message, report);
      throw error;
    }
    const live = loaded;
    const streams = program.outputs
      .filter((o): o is Extract<COutputDecl, { kind: 'events' }> => o.kind === 'events')
      .map((o) => streamEvents(live, o, start, send));
    live.attachAll();
    send({ type: 'state', state: 'running' });
    const readOutputs = () => program.outputs.flatMap((o) => readAggregate(live, o));
    const stopLiveSnapshots = sendLiveSnapshots(start.snapshotSeconds, readOutputs, send);

    const stopped = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), start.durationSeconds * 1000);
      void stop.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });

    stopLiveSnapshots();
    send({ type: 'state', state: 'draining' });
    for (const link of live.links) link.close();
    for (const { consumer, buffer } of streams) {
      await consumer.stop();
      buffer.flush();
    }
    const outputs = readOutputs();
    const events = streams.map(({ buffer }) => buffer.summary());
    send({
      type: 'done',
      outputs,
      events,
      counters: {
        events: events.reduce((sum, e) => sum + e.received, 0),
        lostEvents: 0,
        droppedEvents: events.reduce((sum, e) => sum + e.dropped, 0),
      },
      stoppedEarly: stopped,
      scope: scoped ? 'cgroup' : 'host',
      limits: report,
    });
  } finally {
    if (loaded) await loaded.close();
    spec.close();
  }
}

function hasBtfType(spec: ObjectSpec, name: string): boolean {
  try {
    spec.btf.typeByName(name);
    return true;
  } catch (error) {
    if (error instanceof BtfTypeNotFoundError) return false;
    throw error;
  }
}

function streamEvents(
  loaded: LoadedObject,
  output: Extract<COutputDecl, { kind: 'events' }>,
  start: Pick<RunnerStart, 'maxEventsPerOutput' | 'eventsMaxDelayMs'>,
  send: (message: RunnerMessage) => void,
): { consumer: RingBufferConsumer; buffer: EventBuffer } {
  const name = cOutputName(output);
  const timeField = output.timeField ?? RECEIVE_TIME_FIELD;
  const toEpoch = monotonicToEpochNs();
  const buffer = new EventBuffer(name, start.maxEventsPerOutput, EVENTS_FLUSH_AT, (records) => send({ type: 'events', output: name, timeField, records }), start.eventsMaxDelayMs);
  const consumer = loaded.ringBuffer(
    output.ringBuffer,
    (batch) => {
      if (buffer.full) {
        buffer.countDropped(batch.count);
        return;
      }
      const now = toEpoch(process.hrtime.bigint().toString());
      for (const decoded of batch.decoded()) {
        const record = flatten(decoded);
        if (output.timeField) record[timeField] = toEpoch(record[timeField] as number | string);
        else record[timeField] = now;
        buffer.add(record);
      }
    },
    { recordType: output.recordType },
  );
  return { consumer, buffer };
}

function readAggregate(loaded: LoadedObject, output: COutputDecl): AggregateOutput[] {
  const name = cOutputName(output);
  if (output.kind === 'hist') return [histFromEntries({ kind: 'hist', name, unit: output.unit, map: output.map }, loaded.map(output.map).entries())];
  if (output.kind === 'counts') return [countsFromDecoded(name, output.unit, loaded.map(output.map).entriesDecoded())];
  return [];
}

/** Counts from a BTF-decoded map: struct keys give one key field per member, scalar keys a `key` field; values are summed per key. */
export function countsFromDecoded(name: string, unit: string, entries: Iterable<[DecodedValue, DecodedValue]>): AggregateOutput {
  const merged = new Map<string, CountEntry>();
  const keyFields = new Set<string>();
  for (const [rawKey, rawValue] of entries) {
    const value = numberOf(rawValue);
    if (value === 0) continue;
    const key = rawKey !== null && typeof rawKey === 'object' && !Array.isArray(rawKey) ? flatten(rawKey) : { key: scalar(rawKey) };
    for (const field of Object.keys(key)) keyFields.add(field);
    const id = JSON.stringify(key);
    const entry = merged.get(id);
    if (entry) entry.value += value;
    else merged.set(id, { key, value });
  }
  const sorted = [...merged.values()].sort((a, b) => b.value - a.value);
  return { kind: 'counts', name, unit, keyFields: [...keyFields], entries: sorted };
}

/** A count value: a number, a per-CPU array of them (summed), or a decimal string past 2^53. */
function numberOf(value: DecodedValue): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  if (Array.isArray(value)) return value.reduce<number>((sum, v) => sum + numberOf(v as DecodedValue), 0);
  throw new TypeError(`a counts map's values must be integers, got ${JSON.stringify(value)}`);
}

/** A decoded struct as a flat record: nested members as `outer.inner`, arrays as JSON text. */
function flatten(value: DecodedValue, prefix = '', into: EventRecord = {}): EventRecord {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [field, member] of Object.entries(value as Record<string, DecodedValue>)) flatten(member, prefix ? `${prefix}.${field}` : field, into);
    return into;
  }
  into[prefix || 'value'] = scalar(value);
  return into;
}

function scalar(value: DecodedValue): FieldValue {
  if (value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}
