import { openObject, type LoadedObject, type RingBufferConsumer } from '@fleettrace/bpf-loader';
import type { AggregateOutput, EventsSummary } from '@fleettrace/contracts';
import {
  countsFromEntries,
  createRecordDecoder,
  encodeGlobal,
  getProgram,
  histFromEntries,
  type CatalogProgram,
  type EventsOutputSpec,
  type OutputSpec,
} from '@fleettrace/programs';
import { monotonicToEpochNs } from './boot-clock';
import { EventBuffer } from './event-buffer';
import type { RunnerMessage, RunnerStart } from './protocol';

/** Records per IPC message: large enough to amortise, small enough to stream while the run goes on. */
const EVENTS_FLUSH_AT = 500;

export class UnsupportedProgramError extends Error {}

/**
 * Runs one catalog program for the run's duration (or until `stop` resolves): set its rodata,
 * load, stream events, attach, wait, then drain, read the aggregate maps and detach everything.
 */
export async function runCatalogProgram(start: RunnerStart, send: (message: RunnerMessage) => void, stop: Promise<void>): Promise<void> {
  const program = getProgram(start.program) as CatalogProgram | undefined;
  if (!program) throw new UnsupportedProgramError(`program "${start.program}" is not in this runner's catalog`);
  const params = program.params.parse(start.params);
  const filter = { cgroupId: start.cgroupId === null ? null : BigInt(start.cgroupId) };

  send({ type: 'state', state: 'loading' });
  const spec = openObject(program.objectPath);
  let loaded: LoadedObject | undefined;
  try {
    for (const [name, value] of Object.entries(program.globals(params, filter))) spec.setGlobal(name, encodeGlobal(value));
    loaded = spec.load();
    const buffers = program.outputs
      .filter((output): output is EventsOutputSpec => output.kind === 'events')
      .map((output) => streamEvents(loaded!, output, start.maxEventsPerOutput, send));
    loaded.attachAll();
    send({ type: 'state', state: 'running' });

    const stoppedEarly = await waitForDurationOrStop(start.durationSeconds * 1000, stop);

    send({ type: 'state', state: 'draining' });
    // Detach first so nothing new arrives, then each consumer's last drain takes what was submitted.
    for (const link of loaded.links) link.close();
    for (const { consumer, buffer } of buffers) {
      await consumer.stop();
      buffer.flush();
    }
    const outputs = program.outputs.flatMap((output) => readAggregate(loaded!, output));
    const events: EventsSummary[] = buffers.map(({ buffer }) => buffer.summary());
    const received = events.reduce((sum, e) => sum + e.received, 0);
    const dropped = events.reduce((sum, e) => sum + e.dropped, 0);
    send({ type: 'done', outputs, events, counters: { events: received, lostEvents: 0, droppedEvents: dropped }, stoppedEarly });
  } finally {
    if (loaded) await loaded.close();
    spec.close();
  }
}

function streamEvents(
  loaded: LoadedObject,
  output: EventsOutputSpec,
  cap: number,
  send: (message: RunnerMessage) => void,
): { consumer: RingBufferConsumer; buffer: EventBuffer } {
  const decode = createRecordDecoder(output.layout);
  const toEpoch = monotonicToEpochNs();
  const buffer = new EventBuffer(output.name, cap, EVENTS_FLUSH_AT, (records) =>
    send({ type: 'events', output: output.name, timeField: output.timeField, records }),
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

/** Resolves false when the duration elapses, true when stopped first; never leaves its timer behind. */
function waitForDurationOrStop(durationMs: number, stop: Promise<void>): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), durationMs);
    void stop.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
