import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { EventsView, HostResultView, JobResultsView, OutputView } from '@fleettrace/contracts';
import { foldedText, mergeOutputs, mergeStacks, type MergeableOutput, type TimedEventsOutput } from '@fleettrace/results';
import { JobRepository } from '../repositories/job.repository';
import { RunRepository } from '../repositories/run.repository';
import { ResultRepository, type EventRow } from '../repositories/result.repository';

@Injectable()
export class ResultsService {
  constructor(
    @Inject(JobRepository) private readonly jobs: JobRepository,
    @Inject(RunRepository) private readonly runs: RunRepository,
    @Inject(ResultRepository) private readonly results: ResultRepository,
  ) {}

  /** Each host's outputs as stored, and the fleet-wide merge of them. */
  async get(jobId: string, query: { eventsLimit: number }): Promise<JobResultsView> {
    const job = await this.jobs.findById(jobId);
    if (!job) throw new NotFoundException(`job ${jobId} not found`);
    const runs = await this.runs.listByJob(jobId);
    const runIds = runs.map((r) => r.id);
    const [aggregates, events, counts, summaries] = await Promise.all([
      this.results.outputsOf(runIds),
      this.results.eventsOf(runIds, query.eventsLimit),
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
          records: (recordsOf.get(key(run.id, name)) ?? []).map((e) => timed(e, run.hostId)),
        };
      });
      return { run, outputs: [...(aggregates.get(run.id) ?? []), ...eventOutputs] as MergeableOutput[] };
    });

    const hosts: HostResultView[] = perHost.map(({ run, outputs }) => ({
      hostId: run.hostId,
      state: run.state,
      error: run.error,
      outputs: outputs.map(toView),
    }));
    return {
      jobId,
      state: job.state,
      merged: mergeOutputs(
        perHost.map((h) => h.outputs),
        query.eventsLimit,
      ).map(toView),
      hosts,
    };
  }

  /**
   * One stacks output as folded text ("stack value" lines, largest first): summed over every host,
   * or one host's own. An empty text is a host, or a fleet, that sampled nothing.
   */
  async folded(jobId: string, query: { output: string; host?: string }): Promise<string> {
    const job = await this.jobs.findById(jobId);
    if (!job) throw new NotFoundException(`job ${jobId} not found`);
    const runs = await this.runs.listByJob(jobId);
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
    if (perHost.size === 0) return '';
    return foldedText(mergeStacks([...perHost.values()]));
  }
}

function timed(row: EventRow, host: string): TimedEventsOutput['records'][number] {
  return { ts: BigInt(row.ts), host, record: { ...row.data, host } };
}

function toView(output: MergeableOutput): OutputView {
  if (output.kind !== 'events') return output;
  const view: EventsView = {
    kind: 'events',
    name: output.name,
    received: output.received,
    dropped: output.dropped,
    records: output.records.map((r) => r.record),
  };
  return view;
}
