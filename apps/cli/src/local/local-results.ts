import { hostname } from 'node:os';
import type { AggregateOutput, EventRecord, EventsSummary, JobResultsView, OutputView, RunCounters, RunState } from '@fleettrace/contracts';
import { countsView, eventsView, histView, mergeOutputs, topFunctions, type MergeableOutput, type TimedEventsOutput } from '@fleettrace/results';
import type { HostSummary } from '../job/host-summary';
import { droppedOf } from '../job/host-summary';

/** This host's name, as a local run's records and summary name it (the API names hosts by id). */
export const LOCAL_HOST = hostname();

/** A local run's events, kept per output as the runner streams them, for the results printed at the end. */
export class LocalEvents {
  private readonly outputs = new Map<string, { timeField: string; records: EventRecord[] }>();

  add(output: string, timeField: string, records: readonly EventRecord[]): EventRecord[] {
    const withHost = records.map((record) => ({ ...record, host: LOCAL_HOST }));
    const kept = this.outputs.get(output) ?? { timeField, records: [] };
    kept.records.push(...withHost);
    this.outputs.set(output, kept);
    return withHost;
  }

  timed(summaries: readonly EventsSummary[]): TimedEventsOutput[] {
    const names = new Set([...summaries.map((s) => s.name), ...this.outputs.keys()]);
    return [...names].map((name) => {
      const kept = this.outputs.get(name);
      const summary = summaries.find((s) => s.name === name);
      const records = kept?.records ?? [];
      return {
        kind: 'events',
        name,
        received: summary?.received ?? records.length,
        dropped: summary?.dropped ?? 0,
        records: records.map((record) => ({ ts: BigInt(String(record[kept!.timeField] ?? 0)), host: LOCAL_HOST, record })),
      };
    });
  }
}

export interface LocalEnding {
  state: RunState;
  error: string | null;
  outputs: AggregateOutput[];
  events: EventsSummary[];
  counters: RunCounters | null;
  seconds: number;
}

/** The views the API answers with, for this host alone: percentiles, the top counts, the heaviest functions. */
function toView(output: MergeableOutput): OutputView {
  switch (output.kind) {
    case 'hist':
      return histView(output);
    case 'counts':
      return countsView(output, undefined, undefined, undefined);
    case 'stacks':
      return { ...output, topFunctions: topFunctions(output) };
    case 'events':
      return eventsView(output);
  }
}

/** The runner's snapshot of this host's maps as the live view takes a job's: merged over this one host. */
export function localSnapshot(outputs: readonly AggregateOutput[], at: Date): { at: string; hosts: number; merged: OutputView[] } {
  return { at: at.toISOString(), hosts: 1, merged: mergeOutputs([outputs], 0).map(toView) };
}

/**
 * A local run in the API's shape (JobResultsView), so one set of views and one JSON shape serve
 * both: this host is the only host, and the merge of one host is its own outputs, ordered by
 * output name and events by time as the API orders them.
 */
export function localResults(runId: string, ending: LocalEnding, events: LocalEvents, eventsLimit: number): { results: JobResultsView; summaries: HostSummary[] } {
  const outputs: MergeableOutput[] = [...ending.outputs, ...events.timed(ending.events)];
  const merged = mergeOutputs([outputs], eventsLimit).map(toView);
  return {
    results: { jobId: runId, state: 'completed', merged, hosts: [{ hostId: LOCAL_HOST, hostName: LOCAL_HOST, state: ending.state, error: ending.error, outputs: merged }] },
    summaries: [
      {
        host: LOCAL_HOST,
        state: ending.state,
        events: ending.counters?.events ?? null,
        lost: ending.counters?.lostEvents ?? null,
        dropped: ending.counters ? droppedOf(ending.counters) : null,
        seconds: ending.seconds,
        error: ending.error,
      },
    ],
  };
}
