import { BtfTypeNotFoundError, openObject, u64, type DecodedValue, type LoadedObject, type ObjectSpec, type RingBufferConsumer } from '@fleettrace/bpf-loader';
import { checkProgramPolicy, cOutputName, DEFAULT_PROGRAM_POLICY, type AggregateOutput, type COutputDecl, type CountEntry, type CProgram, type EventRecord, type FieldValue } from '@fleettrace/contracts';
import { histFromEntries } from '@fleettrace/programs';
import { monotonicToEpochNs } from './boot-clock';
import { compileC } from './c-compile';
import type { RunnerStart } from './protocol';
import type { EventsSink, RunAdapter, SessionContext } from './run-session';

export { CCompileError } from './c-compile';

/** The compiled object contains what the run's program policy denies; nothing was loaded. */
export class ProgramPolicyError extends Error {
  override name = 'ProgramPolicyError';
}

/**
 * The kernel-side scope contract of custom C programs: a program that declares
 * `const volatile __u64 filter_cgroup_id = 0;` gets the run's cgroup id there (0 = no scope) and
 * is expected to skip tasks whose bpf_get_current_cgroup_id() differs. Without it the run is
 * host-wide, and its summary says so (scope: 'host').
 */
export const C_CGROUP_GLOBAL = 'filter_cgroup_id';
/** Events outputs without a declared time field get the receive time here, in epoch ns. */
export const RECEIVE_TIME_FIELD = 'time_ns';

/**
 * A user's C source in a run session: compiled on the host (or taken from the cache), loaded through
 * the normal loader path under the map-memory limit, every program attached; the declared outputs
 * are read through the object's BTF: the user declares which map is what, never a layout. The run's
 * events-per-second limit applies in the runner (user code has no kernel-side limiter).
 */
export function cAdapter(start: RunnerStart, program: CProgram): RunAdapter {
  let objectPath: string | undefined;
  let spec: ObjectSpec | undefined;
  let loaded: LoadedObject | undefined;
  let streams: RingBufferConsumer[] = [];
  let scoped = false;
  const live = (): LoadedObject => loaded!;
  const readOutputs = (): AggregateOutput[] => program.outputs.flatMap((o) => readAggregate(live(), o));

  return {
    async compile() {
      ({ objectPath } = await compileC(program.source));
    },
    load(context: SessionContext) {
      spec = openObject(objectPath!);
      // Before anything reaches the kernel, from the object's own instructions and BTF.
      const refusal = checkProgramPolicy(spec.policyFacts(), start.policy ?? DEFAULT_PROGRAM_POLICY);
      if (refusal) throw new ProgramPolicyError(refusal);
      scoped = start.cgroupId !== null && spec.globals.some((g) => g.name === C_CGROUP_GLOBAL);
      if (scoped) spec.setGlobal(C_CGROUP_GLOBAL, u64(BigInt(start.cgroupId!)));
      for (const output of program.outputs) {
        if (output.kind === 'events' && !hasBtfType(spec, output.recordType)) {
          throw new Error(
            `${output.recordType} (the record type of output "${cOutputName(output)}") is not in the program's BTF: ` +
              `declare a global pointer to it, e.g. \`${output.recordType} *unused_event __attribute__((unused));\``,
          );
        }
      }
      const estimateBytes = spec.estimateMapMemory().totalBytes;
      // The kernel's BTF, not the runners' minimized-BTF cache: each new source is a new object,
      // whose minimizing (a bpftool run) would cost more than it saves and grow the cache for good.
      loaded = spec.load({ mapMemoryLimitBytes: context.limits.mapMemoryBytes, coreBtf: null });
      streams = program.outputs
        .filter((o): o is Extract<COutputDecl, { kind: 'events' }> => o.kind === 'events')
        .map((o) => streamEvents(live(), o, context.openEvents(cOutputName(o), o.timeField ?? RECEIVE_TIME_FIELD)));
      return { mapMemory: { estimateBytes } };
    },
    attach() {
      live().attachAll();
      return 'attached';
    },
    programStats: () => live().programStats(),
    readOutputs,
    async detach() {
      for (const link of live().links) link.close();
      for (const consumer of streams) await consumer.stop();
    },
    finish: () => ({ outputs: readOutputs(), lostEvents: 0, scope: scoped ? 'cgroup' : 'host' }),
    async close() {
      if (loaded) await loaded.close();
      spec?.close();
    },
  };
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

function streamEvents(loaded: LoadedObject, output: Extract<COutputDecl, { kind: 'events' }>, sink: EventsSink): RingBufferConsumer {
  const timeField = output.timeField ?? RECEIVE_TIME_FIELD;
  const toEpoch = monotonicToEpochNs();
  return loaded.ringBuffer(
    output.ringBuffer,
    (batch) => {
      const admitted = sink.admit(batch.count);
      if (admitted === 0) return;
      const now = toEpoch(process.hrtime.bigint().toString());
      for (const decoded of batch.decoded().slice(0, admitted)) {
        const record = flatten(decoded);
        if (output.timeField) record[timeField] = toEpoch(record[timeField] as number | string);
        else record[timeField] = now;
        sink.add(record);
      }
    },
    { recordType: output.recordType },
  );
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
