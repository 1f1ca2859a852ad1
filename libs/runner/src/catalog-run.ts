import { MapMemoryLimitError, openObject, type LoadedObject, type ObjectSpec, type RingBufferConsumer } from '@fleettrace/bpf-loader';
import type { AggregateOutput, EventsSummary, RunLimitsReport } from '@fleettrace/contracts';
import {
  LOST_EVENTS_GLOBAL,
  RATE_DROPPED_GLOBAL,
  RATE_LIMIT_GLOBAL,
  rateLimitGlobals,
  countsFromEntries,
  createRecordDecoder,
  encodeGlobal,
  getProgram,
  histFromEntries,
  type CatalogProgram,
  type EventsOutputSpec,
  type OutputSpec,
} from '@fleettrace/programs';
import { attachPlanned } from './attach-plan';
import { monotonicToEpochNs } from './boot-clock';
import { EventBuffer } from './event-buffer';
import { OverheadGuard } from './overhead-guard';
import { StackCollector, isStackCounts } from './stack-collector';
import type { RunnerMessage, RunnerStart } from './protocol';
import { limitsReport, resolveRunnerLimits } from './run-limits';
import { sendLiveSnapshots } from './live-snapshots';

/** Records per IPC message: large enough to amortise, small enough to stream while the run goes on. */
const EVENTS_FLUSH_AT = 500;
/**
 * How often the processes in stack-keyed maps are looked for, to snapshot their mappings while they
 * live: a process that starts and exits between two looks is left with [unknown] user frames.
 */
const STACK_SNAPSHOT_INTERVAL_MS = 500;

export class UnsupportedProgramError extends Error {}

/** A run that failed before load because of its limits (map memory); the summary reports them. */
export class RunLimitError extends Error {
  constructor(
    message: string,
    readonly limits: RunLimitsReport,
  ) {
    super(message);
  }
}

/** Finds the program a run names; the daemon's is the catalog, tests add their own fixtures. */
export type ProgramResolver = (name: string) => CatalogProgram | undefined;

/**
 * Runs one catalog program for the run's duration (or until `stop` resolves): set its rodata,
 * load, stream events, attach, wait, then drain, read the aggregate maps and detach everything.
 * Counts keyed by stack ids leave as `stacks` outputs, symbolized here: ids mean nothing off the host.
 */
export async function runCatalogProgram(
  start: RunnerStart,
  send: (message: RunnerMessage) => void,
  stop: Promise<void>,
  resolveProgram: ProgramResolver = (name) => getProgram(name) as CatalogProgram | undefined,
): Promise<void> {
  if (typeof start.program !== 'string') throw new UnsupportedProgramError(`a ${start.program.kind} program is not a catalog program`);
  const program = resolveProgram(start.program);
  if (!program) throw new UnsupportedProgramError(`program "${start.program}" is not in this runner's catalog`);
  const params = program.params.parse(start.params);
  const filter = { cgroupId: start.cgroupId === null ? null : BigInt(start.cgroupId) };
  const limits = resolveRunnerLimits(start.limits);

  send({ type: 'state', state: 'loading' });
  const spec = openObject(program.objectPath);
  let loaded: LoadedObject | undefined;
  let snapshots: NodeJS.Timeout | undefined;
  try {
    const globals = { ...program.globals(params, filter), ...(hasGlobal(spec, RATE_LIMIT_GLOBAL) ? rateLimitGlobals(limits.eventsPerSecond) : {}) };
    for (const [name, value] of Object.entries(globals)) spec.setGlobal(name, encodeGlobal(value));
    const report = limitsReport(start, limits, spec.estimateMapMemory().totalBytes);
    try {
      // Refused before anything reaches the kernel, naming the largest map and the numbers.
      loaded = spec.load({ mapMemoryLimitBytes: limits.mapMemoryBytes });
    } catch (error) {
      if (error instanceof MapMemoryLimitError) throw new RunLimitError(error.message, report);
      throw error;
    }
    const buffers = program.outputs
      .filter((output): output is EventsOutputSpec => output.kind === 'events')
      .map((output) => streamEvents(loaded!, output, start, send));

    const stackCollectors = new Map(program.outputs.filter(isStackCounts).map((output) => [output.name, new StackCollector(loaded!, output)]));
    let snapshotFailure: unknown;
    if (stackCollectors.size > 0) {
      snapshots = setInterval(() => {
        try {
          for (const collector of stackCollectors.values()) collector.snapshotNew();
        } catch (error) {
          // Reported with the outputs rather than crashing the runner from a timer.
          snapshotFailure ??= error;
        }
      }, STACK_SNAPSHOT_INTERVAL_MS);
    }

    let overBudget: () => void = () => {};
    const budget = new Promise<void>((resolve) => (overBudget = resolve));
    const live = loaded;
    const guard = new OverheadGuard(() => live.programStats(), limits.overheadBudgetPercent, limits.overheadWindowMs, () => overBudget());
    guard.start();
    attachPlanned(loaded, program, params);
    send({ type: 'state', state: 'running' });
    const readOutputs = (): AggregateOutput[] =>
      program.outputs.flatMap((output) => {
        const collector = stackCollectors.get(output.name);
        return collector ? [collector.read()] : readAggregate(live, output);
      });
    const stopLiveSnapshots = sendLiveSnapshots(start.snapshotSeconds, readOutputs, send);

    const ended = await waitForDurationOrStop(start.durationSeconds * 1000, stop, budget);
    stopLiveSnapshots();
    clearInterval(snapshots);

    // Last reading before detaching: what the programs cost while attached.
    const overhead = guard.stop();
    send({ type: 'state', state: 'draining' });
    // Detach first so nothing new arrives, then each consumer's last drain takes what was submitted.
    for (const link of loaded.links) link.close();
    for (const { consumer, buffer } of buffers) {
      await consumer.stop();
      buffer.flush();
    }
    if (snapshotFailure !== undefined) throw snapshotFailure;
    const outputs = readOutputs();
    const events: EventsSummary[] = buffers.map(({ buffer }) => buffer.summary());
    const received = events.reduce((sum, e) => sum + e.received, 0);
    const dropped = events.reduce((sum, e) => sum + e.dropped, 0);
    const droppedByRate = counterGlobal(loaded, spec, RATE_DROPPED_GLOBAL);
    // Read after the links closed: nothing can add to it any more.
    const lostEvents = counterGlobal(loaded, spec, LOST_EVENTS_GLOBAL);
    send({
      type: 'done',
      outputs,
      events,
      counters: { events: received, lostEvents, droppedEvents: dropped, droppedByRate },
      stoppedEarly: ended === 'stopped',
      limits: report,
      overhead,
      ...(guard.exceeded ? { budgetExceeded: guard.exceeded } : {}),
    });
  } finally {
    clearInterval(snapshots);
    if (loaded) await loaded.close();
    spec.close();
  }
}

/** A u64 counter in the object's .bss (common/*.bpf.h); 0 for an object without it. */
function counterGlobal(loaded: LoadedObject, spec: ObjectSpec, name: string): number {
  return hasGlobal(spec, name) ? Number(loaded.readGlobal(name).readBigUInt64LE(0)) : 0;
}

function hasGlobal(spec: ObjectSpec, name: string): boolean {
  return spec.globals.some((g) => g.name === name);
}

function streamEvents(
  loaded: LoadedObject,
  output: EventsOutputSpec,
  start: Pick<RunnerStart, 'maxEventsPerOutput' | 'eventsMaxDelayMs'>,
  send: (message: RunnerMessage) => void,
): { consumer: RingBufferConsumer; buffer: EventBuffer } {
  const decode = createRecordDecoder(output.layout);
  const toEpoch = monotonicToEpochNs();
  const buffer = new EventBuffer(
    output.name,
    start.maxEventsPerOutput,
    EVENTS_FLUSH_AT,
    (records) => send({ type: 'events', output: output.name, timeField: output.timeField, records }),
    start.eventsMaxDelayMs,
  );
  const consumer = loaded.ringBuffer(output.ringBuffer, (batch) => {
    if (buffer.full) {
      buffer.countDropped(batch.count);
      return;
    }
    batch.forEach((data, offset) => {
      const record = decode(data, offset);
      record[output.timeField] = toEpoch(record[output.timeField] as number | string);
      buffer.add(record);
    });
  });
  return { consumer, buffer };
}

function readAggregate(loaded: LoadedObject, output: OutputSpec): AggregateOutput[] {
  if (output.kind === 'hist') return [histFromEntries(output, loaded.map(output.map).entries())];
  if (output.kind === 'counts') return [countsFromEntries(output, loaded.map(output.map).entries())];
  return [];
}

/** How the wait ended: the duration elapsed, a stop was requested, or the overhead budget was exceeded. Never leaves its timer behind. */
function waitForDurationOrStop(durationMs: number, stop: Promise<void>, budget: Promise<void>): Promise<'elapsed' | 'stopped' | 'budget'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('elapsed'), durationMs);
    const end = (how: 'stopped' | 'budget') => () => {
      clearTimeout(timer);
      resolve(how);
    };
    void stop.then(end('stopped'));
    void budget.then(end('budget'));
  });
}
