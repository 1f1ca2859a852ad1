import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type {
  CountsOutput,
  EventPage,
  HistOutput,
  HostResultView,
  JobComparisonView,
  JobResultsView,
  OutputComparison,
  OutputView,
  StacksOutput,
  StacksView,
} from '@fleettrace/contracts';
import {
  compareCounts,
  compareHist,
  diffFolded,
  foldedText,
  histOutliers,
  mergeOutputs,
  mergeStacks,
  topFunctions,
  type CountsFilter,
  type MergeableOutput,
  type TimedEventsOutput,
} from '@fleettrace/results';
import { stacksToPprof } from '@fleettrace/results/pprof';
import { JobRepository, encodeProgram, type JobRecord } from '../repositories/job.repository';
import { RunRepository, type RunRecord } from '../repositories/run.repository';
import { ResultRepository, type EventRow, type EventsPageQuery } from '../repositories/result.repository';
import { decodeEventCursor, encodeEventCursor, type EventsQuery } from '../dtos/results.dto';
import { countsView, eventsView, histView } from '@fleettrace/results';
import { eventItem } from '../utils/output-views';
import { FinishedResultsCache } from './finished-results-cache';

/** What the serialized results of completed jobs may hold in memory, in all and for one job. */
const FINISHED_RESULTS_BYTES = 64 * 1024 * 1024;
const FINISHED_RESULTS_ENTRY_BYTES = 8 * 1024 * 1024;

export interface ResultsOptions {
  eventsLimit: number;
  /** How many counts entries and functions to list before the rest. */
  top?: number;
  /** Counts key fields and the value they must have (`?key.comm=nginx`). */
  keyFilter?: CountsFilter;
}

interface LoadedJob {
  job: JobRecord;
  runs: RunRecord[];
  /** Each run's outputs, aggregates and events alike, events as time-ordered records. */
  perHost: Array<{ run: RunRecord; outputs: MergeableOutput[] }>;
}

@Injectable()
export class ResultsService {
  constructor(
    @Inject(JobRepository) private readonly jobs: JobRepository,
    @Inject(RunRepository) private readonly runs: RunRepository,
    @Inject(ResultRepository) private readonly results: ResultRepository,
  ) {}

  private readonly finished = new FinishedResultsCache({ maxBytes: FINISHED_RESULTS_BYTES, maxEntryBytes: FINISHED_RESULTS_ENTRY_BYTES });

  /**
   * `get`'s answer as the JSON body sent. A completed job's outputs no longer change (see
   * FinishedResultsCache), so its body is computed once per query and then served for one small
   * query: people read a job's results when it ends, many at once, and a 100-host merge is costly.
   */
  async body(jobId: string, options: ResultsOptions): Promise<string> {
    const version = await this.results.resultsVersion(jobId);
    if (!version) throw new NotFoundException(`job ${jobId} not found`);
    const compute = async () => JSON.stringify(await this.get(jobId, options));
    if (version.state !== 'completed') return compute();
    const filter = Object.entries(options.keyFilter ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const key = JSON.stringify([jobId, options.eventsLimit, options.top ?? null, filter]);
    return this.finished.get(key, String(version.eventsExpiredRuns), compute);
  }

  /**
   * Each host's outputs and their fleet-wide merge, each with what a person reads first: a
   * histogram's percentiles (and per host, whether it is an outlier), the top counts with the rest
   * summed as `other` (merged: with every host's share of each key), the heaviest functions of the
   * merged stacks, and the first events in time order.
   */
  async get(jobId: string, options: ResultsOptions): Promise<JobResultsView> {
    const loaded = await this.load(jobId, options.eventsLimit);
    const merged = mergeOutputs(
      loaded.perHost.map((h) => h.outputs),
      options.eventsLimit,
    );
    const filter = this.applicableFilter(jobId, merged, options.keyFilter ?? {});
    const hostsOf = <K extends MergeableOutput['kind']>(kind: K, name: string) =>
      new Map(
        loaded.perHost.flatMap(({ run, outputs }) => {
          const found = outputs.find((o) => o.kind === kind && o.name === name);
          return found ? [[run.hostId, found as Extract<MergeableOutput, { kind: K }>] as const] : [];
        }),
      );
    const outliersOf = new Map<string, Set<string>>();
    const mergedViews = merged.map((output): OutputView => {
      switch (output.kind) {
        case 'hist': {
          const perHost = hostsOf('hist', output.name);
          outliersOf.set(output.name, new Set(histOutliers(perHost, output).map((o) => o.hostId)));
          return histView(output);
        }
        case 'counts':
          return countsView(output, hostsOf('counts', output.name), options.top, filter.get(output.name));
        case 'stacks':
          return { ...output, topFunctions: topFunctions(output, { limit: options.top }) };
        case 'events':
          return eventsView(output);
      }
    });
    const hosts: HostResultView[] = loaded.perHost.map(({ run, outputs }) => ({
      hostId: run.hostId,
      hostName: run.hostName,
      state: run.state,
      error: run.error,
      outputs: outputs.map((output): OutputView => {
        switch (output.kind) {
          case 'hist':
            return { ...histView(output), outlier: outliersOf.get(output.name)?.has(run.hostId) ?? false };
          case 'counts':
            return countsView(output, undefined, options.top, filter.get(output.name));
          case 'stacks':
            return output satisfies StacksView;
          case 'events':
            return eventsView(output);
        }
      }),
    }));
    return { jobId, state: loaded.job.state, merged: mergedViews, hosts };
  }

  /**
   * One stacks output as folded text ("stack value" lines, largest first): summed over every host,
   * or one host's own. An empty text is a host, or a fleet, that sampled nothing.
   */
  async folded(jobId: string, query: { output: string; host?: string }): Promise<string> {
    const stacks = await this.stacks(jobId, query);
    return stacks ? foldedText(stacks) : '';
  }

  /** One stacks output as a gzipped pprof profile.proto, merged or one host's. */
  async pprof(jobId: string, query: { output: string; host?: string }): Promise<Buffer> {
    const job = await this.jobs.readAsOne((tx) => this.jobs.findById(jobId, tx));
    const stacks = (await this.stacks(jobId, query)) ?? { kind: 'stacks', name: query.output, unit: 'samples', entries: [], unsymbolized: 0, lost: 0 };
    return stacksToPprof(stacks, { timeNanos: BigInt(job!.createdAt.getTime()) * 1_000_000n, durationNanos: BigInt(job!.durationSeconds) * 1_000_000_000n });
  }

  /**
   * A page of the job's records of one events output in (time, host, batch, index) order, filtered.
   * The output may be left out when the job has only one.
   */
  async events(jobId: string, query: EventsQuery): Promise<EventPage> {
    const output = await this.eventsOutput(jobId, query.output);
    if (output === undefined) return { items: [], nextCursor: null };
    const rows = await this.results.eventsPage(jobId, { ...pageFilter(query, output), limit: query.limit + 1, ...(query.cursor === undefined ? {} : { after: decodeEventCursor(query.cursor) }) });
    const items = rows.slice(0, query.limit);
    const last = items[items.length - 1];
    return { items: items.map(eventItem), nextCursor: rows.length > query.limit && last ? encodeEventCursor(last) : null };
  }

  /**
   * Every record of one events output, as NDJSON lines, read from PostgreSQL through a cursor:
   * memory stays flat however large the job. Checked first, so a 404 or 400 can still be answered.
   */
  async eventLines(jobId: string, query: EventsQuery): Promise<AsyncIterable<string>> {
    const output = await this.eventsOutput(jobId, query.output);
    if (output === undefined) return (async function* none() {})();
    const chunks = this.results.streamEvents(jobId, pageFilter(query, output));
    return (async function* lines() {
      for await (const chunk of chunks) yield chunk.map((row) => `${JSON.stringify(eventItem(row))}\n`).join('');
    })();
  }

  /** The events output a request is about: the one it names, else the job's only one; undefined when it has none yet. */
  private async eventsOutput(jobId: string, named: string | undefined): Promise<string | undefined> {
    if (!(await this.jobs.readAsOne((tx) => this.jobs.findById(jobId, tx)))) throw new NotFoundException(`job ${jobId} not found`);
    if (named !== undefined) return named;
    const outputs = await this.results.eventOutputsOf(jobId);
    if (outputs.length > 1) throw new BadRequestException(`output: job ${jobId} has several events outputs (${outputs.join(', ')}); name one`);
    return outputs[0];
  }

  /**
   * Two jobs of one program, output by output: percentile shifts of histograms (merged and per
   * host), count deltas (top movers, new and gone keys), and a differential folded text of stacks
   * ("stack valueA valueB" lines, as flamegraph's difffolded.pl writes them).
   */
  async compare(a: string, b: string, options: { top?: number }): Promise<JobComparisonView> {
    const [first, second] = [await this.load(a, 0), await this.load(b, 0)];
    if (encodeProgram(first.job.program) !== encodeProgram(second.job.program)) {
      throw new BadRequestException(`job ${a} runs ${first.job.programLabel} and job ${b} runs ${second.job.programLabel}${first.job.programLabel === second.job.programLabel ? ' with a different program text' : ''}: only jobs of one program compare`);
    }
    const aggregates = (loaded: LoadedJob) => {
      const merged = mergeOutputs(loaded.perHost.map((h) => h.outputs.filter((o) => o.kind !== 'events')), 0);
      return new Map(merged.map((o) => [`${o.kind}\u0000${o.name}`, o]));
    };
    const [mergedA, mergedB] = [aggregates(first), aggregates(second)];
    const perHost = <K extends 'hist'>(loaded: LoadedJob, kind: K, name: string) =>
      new Map(loaded.perHost.flatMap(({ run, outputs }) => {
        const found = outputs.find((o) => o.kind === kind && o.name === name);
        return found ? [[run.hostId, found as HistOutput] as const] : [];
      }));
    const outputs: OutputComparison[] = [];
    for (const [key, outA] of mergedA) {
      const outB = mergedB.get(key);
      if (!outB) continue;
      if (outA.kind === 'hist') {
        outputs.push({ kind: 'hist', name: outA.name, hist: compareHist({ merged: outA, perHost: perHost(first, 'hist', outA.name) }, { merged: outB as HistOutput, perHost: perHost(second, 'hist', outA.name) }) });
      } else if (outA.kind === 'counts') {
        outputs.push({ kind: 'counts', name: outA.name, counts: compareCounts(outA, outB as CountsOutput, { limit: options.top }) });
      } else if (outA.kind === 'stacks') {
        outputs.push({ kind: 'stacks', name: outA.name, diffFolded: diffFolded(outA, outB as StacksOutput) });
      }
    }
    const names = (m: Map<string, MergeableOutput>, other: Map<string, MergeableOutput>) => [...m].filter(([k]) => !other.has(k)).map(([, o]) => o.name);
    return { a, b, program: first.job.programLabel, outputs, onlyInA: names(mergedA, mergedB), onlyInB: names(mergedB, mergedA) };
  }

  private async stacks(jobId: string, query: { output: string; host?: string }): Promise<StacksOutput | undefined> {
    const { runs } = await this.jobAndRuns(jobId);
    const outputs = await this.results.outputNamesOf(runs.map((r) => r.id));
    // A stacks output of that name anywhere counts, even if an older daemon sent counts under it.
    const named = outputs.find((o) => o.name === query.output && o.kind === 'stacks') ?? outputs.find((o) => o.name === query.output);
    if (!named || named.kind !== 'stacks') {
      const stackNames = [...new Set(outputs.filter((o) => o.kind === 'stacks').map((o) => `"${o.name}"`))].sort();
      const what = named ? `output "${query.output}" of job ${jobId} is ${named.kind}, not stacks` : `job ${jobId} has no output "${query.output}"`;
      throw new BadRequestException(`${what}; its stacks outputs: ${stackNames.length > 0 ? stackNames.join(', ') : 'none yet'}`);
    }
    let chosen = runs;
    if (query.host !== undefined) {
      chosen = runs.filter((r) => r.hostId === query.host);
      if (chosen.length === 0) throw new NotFoundException(`host "${query.host}" has no run in job ${jobId}`);
    }
    const perHost = await this.results.stacksOf(chosen.map((r) => r.id), query.output);
    return perHost.size === 0 ? undefined : mergeStacks([...perHost.values()]);
  }

  /** The job and its runs, as of one moment; a 404 when there is no such job. */
  private jobAndRuns(jobId: string): Promise<{ job: JobRecord; runs: RunRecord[] }> {
    return this.jobs.readAsOne(async (tx) => {
      const job = await this.jobs.findById(jobId, tx);
      if (!job) throw new NotFoundException(`job ${jobId} not found`);
      return { job, runs: await this.runs.listByJob(jobId, tx) };
    });
  }

  private async load(jobId: string, eventsLimit: number): Promise<LoadedJob> {
    const { job, runs } = await this.jobAndRuns(jobId);
    const runIds = runs.map((r) => r.id);
    const [aggregates, events, counts, summaries] = await Promise.all([
      this.results.outputsOf(runIds),
      eventsLimit > 0 ? this.results.eventsOf(runIds, eventsLimit) : Promise.resolve([]),
      this.results.eventCountsOf(runIds),
      this.results.eventSummariesOf(runIds),
    ]);
    const key = (runId: string, output: string) => `${runId}\u0000${output}`;
    const summaryOf = new Map(summaries.map((s) => [key(s.runId, s.name), s]));
    const storedOf = new Map(counts.map((c) => [key(c.runId, c.output), c.stored]));
    const recordsOf = new Map<string, EventRow[]>();
    for (const row of events) {
      const k = key(row.runId, row.output);
      const list = recordsOf.get(k);
      if (list) list.push(row);
      else recordsOf.set(k, [row]);
    }
    const eventNamesOf = new Map<string, Set<string>>();
    for (const { runId, name } of [...summaries, ...counts.map((c) => ({ runId: c.runId, name: c.output }))]) {
      eventNamesOf.set(runId, (eventNamesOf.get(runId) ?? new Set()).add(name));
    }
    const perHost = runs.map((run) => {
      const eventOutputs = [...(eventNamesOf.get(run.id) ?? [])].sort().map((name): TimedEventsOutput => {
        const summary = summaryOf.get(key(run.id, name));
        // Events stream in before the summary: until it arrives, what is stored is all that was received.
        const stored = storedOf.get(key(run.id, name)) ?? 0;
        return {
          kind: 'events',
          name,
          received: summary?.received ?? stored,
          dropped: summary?.dropped ?? 0,
          records: (recordsOf.get(key(run.id, name)) ?? []).map((e) => ({ ts: BigInt(e.ts), host: run.hostId, record: { ...e.data, host: run.hostId } })),
        };
      });
      return { run, outputs: [...(aggregates.get(run.id) ?? []), ...eventOutputs] as MergeableOutput[] };
    });
    return { job, runs, perHost };
  }

  /**
   * Which counts outputs a `key.<field>` filter applies to: those whose keys have every filtered
   * field. A field no counts output has is a 400 naming it, not an empty answer that hides a typo.
   */
  private applicableFilter(jobId: string, merged: readonly MergeableOutput[], filter: CountsFilter): Map<string, CountsFilter> {
    const fields = Object.keys(filter);
    const counts = merged.filter((o): o is CountsOutput => o.kind === 'counts');
    const applies = new Map(counts.filter((o) => fields.every((f) => o.keyFields.includes(f))).map((o) => [o.name, filter]));
    if (fields.length > 0 && applies.size === 0) {
      const known = [...new Set(counts.flatMap((o) => o.keyFields))].sort();
      const missing = fields.find((f) => !counts.some((o) => o.keyFields.includes(f)))!;
      throw new BadRequestException(`key.${missing}: no counts output of job ${jobId} has key field "${missing}"; its key fields: ${known.length > 0 ? known.join(', ') : 'none'}`);
    }
    return applies;
  }
}

function pageFilter(query: { host?: string; contains?: string; fields: Record<string, string> }, output: string): Omit<EventsPageQuery, 'limit'> {
  return { output, ...(query.host ? { host: query.host } : {}), fields: query.fields, ...(query.contains ? { contains: { text: query.contains } } : {}) };
}

