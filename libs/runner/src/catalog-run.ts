import { openObject, type LoadedObject, type ObjectSpec, type RingBufferConsumer } from '@fleettrace/bpf-loader';
import type { AggregateOutput } from '@fleettrace/contracts';
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
import { StackCollector, isStackCounts } from './stack-collector';
import { UnsupportedProgramError, type EventsSink, type RunAdapter, type SessionContext } from './run-session';
import type { RunnerStart } from './protocol';

/**
 * How often the processes in stack-keyed maps are looked for, to snapshot their mappings while they
 * live: a process that starts and exits between two looks is left with [unknown] user frames.
 */
const STACK_SNAPSHOT_INTERVAL_MS = 500;

/** Finds the program a run names; the daemon's is the catalog, tests add their own fixtures. */
export type ProgramResolver = (name: string) => CatalogProgram | undefined;

/**
 * A catalog program in a run session: its parameters and the run's cgroup and events-per-second
 * limit go into rodata, it is loaded under the map-memory limit and attached as its manifest plans.
 * Counts keyed by stack ids leave as `stacks` outputs, symbolized here: ids mean nothing off the host.
 */
export function catalogAdapter(start: RunnerStart, resolveProgram: ProgramResolver = (name) => getProgram(name) as CatalogProgram | undefined): RunAdapter {
  if (typeof start.program !== 'string') throw new UnsupportedProgramError(`a ${start.program.kind} program is not a catalog program`);
  const program = resolveProgram(start.program);
  if (!program) throw new UnsupportedProgramError(`program "${start.program}" is not in this runner's catalog`);
  const params = program.params.parse(start.params);
  const filter = { cgroupId: start.cgroupId === null ? null : BigInt(start.cgroupId) };

  let spec: ObjectSpec | undefined;
  let loaded: LoadedObject | undefined;
  let streams: RingBufferConsumer[] = [];
  let stackCollectors = new Map<string, StackCollector>();
  let snapshots: NodeJS.Timeout | undefined;
  let snapshotFailure: unknown;
  const live = (): LoadedObject => loaded!;
  const readOutputs = (): AggregateOutput[] =>
    program.outputs.flatMap((output) => {
      const collector = stackCollectors.get(output.name);
      return collector ? [collector.read()] : readAggregate(live(), output);
    });

  return {
    load(context: SessionContext) {
      spec = openObject(program.objectPath);
      // The kernel applies the events-per-second limit before the ring buffer when the object has the common limiter.
      const kernelRateLimited = hasGlobal(spec, RATE_LIMIT_GLOBAL);
      const globals = { ...program.globals(params, filter), ...(kernelRateLimited ? rateLimitGlobals(context.limits.eventsPerSecond) : {}) };
      for (const [name, value] of Object.entries(globals)) spec.setGlobal(name, encodeGlobal(value));
      const estimateBytes = spec.estimateMapMemory().totalBytes;
      loaded = spec.load({ mapMemoryLimitBytes: context.limits.mapMemoryBytes });
      streams = program.outputs
        .filter((output): output is EventsOutputSpec => output.kind === 'events')
        .map((output) => streamEvents(live(), output, context.openEvents(output.name, output.timeField, { kernelRateLimited })));
      stackCollectors = new Map(program.outputs.filter(isStackCounts).map((output) => [output.name, new StackCollector(live(), output)]));
      // One warms the cache for all: the symbols are cached per file.
      stackCollectors.values().next().value?.warmUp();
      return { mapMemory: { estimateBytes } };
    },
    attach() {
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
      attachPlanned(live(), program, params);
      return 'attached';
    },
    programStats: () => live().programStats(),
    readOutputs,
    async detach() {
      clearInterval(snapshots);
      // Detach first so nothing new arrives, then each consumer's last drain takes what was submitted.
      for (const link of live().links) link.close();
      for (const consumer of streams) await consumer.stop();
    },
    finish() {
      if (snapshotFailure !== undefined) throw snapshotFailure;
      return {
        outputs: readOutputs(),
        droppedByRateInKernel: counterGlobal(live(), spec!, RATE_DROPPED_GLOBAL),
        // Read after the links closed: nothing can add to it any more.
        lostEvents: counterGlobal(live(), spec!, LOST_EVENTS_GLOBAL),
      };
    },
    async close() {
      clearInterval(snapshots);
      if (loaded) await loaded.close();
      spec?.close();
    },
  };
}

/** A u64 counter in the object's .bss (common/*.bpf.h); 0 for an object without it. */
function counterGlobal(loaded: LoadedObject, spec: ObjectSpec, name: string): number {
  return hasGlobal(spec, name) ? Number(loaded.readGlobal(name).readBigUInt64LE(0)) : 0;
}

function hasGlobal(spec: ObjectSpec, name: string): boolean {
  return spec.globals.some((g) => g.name === name);
}

function streamEvents(loaded: LoadedObject, output: EventsOutputSpec, sink: EventsSink): RingBufferConsumer {
  const decode = createRecordDecoder(output.layout);
  const toEpoch = monotonicToEpochNs();
  return loaded.ringBuffer(output.ringBuffer, (batch) => {
    let admitted = sink.admit(batch.count);
    if (admitted === 0) return;
    batch.forEach((data, offset) => {
      if (admitted-- <= 0) return;
      const record = decode(data, offset);
      record[output.timeField] = toEpoch(record[output.timeField] as number | string);
      sink.add(record);
    });
  });
}

function readAggregate(loaded: LoadedObject, output: OutputSpec): AggregateOutput[] {
  if (output.kind === 'hist') return [histFromEntries(output, loaded.map(output.map).entries())];
  if (output.kind === 'counts') return [countsFromEntries(output, loaded.map(output.map).entries())];
  return [];
}
