import { Inject, Injectable, Logger } from '@nestjs/common';
import type { EventsMessage, FieldValue, ResultMessage, SummaryMessage } from '@fleettrace/contracts';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';
import { parseResultMessage } from '../dtos/result-message.dto';
import { HostRepository, type Heartbeat } from '../repositories/host.repository';
import { RunRepository, type RunStateChange } from '../repositories/run.repository';
import { ResultRepository, type EventRow } from '../repositories/result.repository';
import { ResultsStreamRepository, type StreamEntry } from '../repositories/results-stream.repository';
import { RunLifecycleService, type RunTransitions } from './run-lifecycle.service';

export const INGEST_BATCH_SIZE = 500;
const BLOCK_MS = 1000;
const RETRY_DELAY_MS = 1000;
/** Entries another consumer holds this long without acking are taken over: that consumer is gone. */
const ABANDONED_AFTER_MS = 60_000;
const CLAIM_EVERY_MS = 30_000;

/**
 * Moves what daemons report through the results stream into Postgres. A batch is written in one
 * transaction and acked only after it commits; every write is idempotent, so entries redelivered
 * after a crash between commit and ack change nothing.
 */
@Injectable()
export class IngestService {
  private readonly logger = new Logger('Ingest');
  private running: Promise<void> | undefined;
  private stopping = false;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(HostRepository) private readonly hosts: HostRepository,
    @Inject(RunRepository) private readonly runs: RunRepository,
    @Inject(ResultRepository) private readonly results: ResultRepository,
    @Inject(ResultsStreamRepository) private readonly stream: ResultsStreamRepository,
    @Inject(RunLifecycleService) private readonly lifecycle: RunLifecycleService,
  ) {}

  start(): void {
    this.stopping = false;
    this.running ??= this.loop().finally(() => (this.running = undefined));
  }

  /** Lets the batch in hand finish (a blocked read returns within a second), then stops reading. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    const consumer = this.config.ingestConsumer;
    // What this consumer was given before a restart and never acked comes first.
    let from: 'pending' | 'new' = 'pending';
    let lastClaim = 0;
    let groupReady = false;
    while (!this.stopping) {
      try {
        if (!groupReady) {
          await this.stream.ensureGroup();
          groupReady = true;
        }
        if (Date.now() - lastClaim > CLAIM_EVERY_MS) {
          lastClaim = Date.now();
          const claimed = await this.stream.claimAbandoned(consumer, ABANDONED_AFTER_MS, INGEST_BATCH_SIZE);
          if (claimed.length > 0) await this.processBatch(claimed);
        }
        const entries = await this.stream.read(consumer, { from, count: INGEST_BATCH_SIZE, blockMs: BLOCK_MS });
        if (entries.length > 0) await this.processBatch(entries);
        else if (from === 'pending') from = 'new';
      } catch (error) {
        if (this.stopping) break;
        this.logger.error(`ingest batch failed, retrying: ${(error as Error).message}`);
        // The failed batch stays pending for this consumer; read it again before anything new.
        from = 'pending';
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
      }
    }
  }

  /** Writes a batch in one transaction, then acks every entry of it, malformed ones included. */
  async processBatch(entries: readonly StreamEntry[]): Promise<void> {
    const messages: ResultMessage[] = [];
    for (const entry of entries) {
      const parsed = parseResultMessage(entry.message);
      if (parsed.ok) messages.push(parsed.message);
      else this.logger.warn(`dropping malformed results entry ${entry.id}: ${parsed.reason}`);
    }
    if (messages.length > 0) await this.lifecycle.transaction((transitions) => this.write(transitions, messages));
    await this.stream.ack(entries.map((e) => e.id));
  }

  /**
   * Each kind of write goes to the database once for the whole batch (hosts, run states, summaries,
   * events), in the order the reports came per host and per run: a statement per report was what
   * ingest lag was made of at a thousand hosts.
   */
  private async write(transitions: RunTransitions, messages: readonly ResultMessage[]): Promise<void> {
    const heartbeats: Heartbeat[] = [];
    const changes: RunStateChange[] = [];
    const summaries: SummaryMessage[] = [];
    const events: EventRow[] = [];
    for (const message of messages) {
      switch (message.type) {
        case 'host':
          // A daemon's clock running ahead must not keep its host "online" after it stops.
          heartbeats.push({ host: message.host, at: new Date(Math.min(message.at, Date.now())) });
          break;
        case 'state':
          changes.push({ runId: message.runId, state: message.state, at: new Date(message.at), error: message.error });
          break;
        case 'events':
          events.push(...eventRows(message));
          break;
        case 'summary':
          changes.push({ runId: message.runId, state: message.state, at: new Date(message.at), error: message.error });
          summaries.push(message);
          break;
      }
    }
    const tx = transitions.tx;
    if (heartbeats.length > 0) await this.hosts.upsert(tx, heartbeats);
    if (changes.length > 0) await transitions.apply(changes);
    if (summaries.length > 0) {
      // The outputs are real even if the state came too late to apply (the reaper got there first).
      await this.runs.recordSummaries(tx, summaries);
      await this.results.upsertOutputs(tx, summaries);
      await this.results.upsertEventSummaries(tx, summaries);
    }
    await this.results.insertEvents(tx, events);
  }
}

/** Each record keyed by (run, batch, index), so a batch delivered twice is stored once. */
function eventRows(message: EventsMessage): EventRow[] {
  return message.records.map((record, idx) => ({
    runId: message.runId,
    seq: message.seq,
    idx,
    output: message.output,
    ts: toTimestamp(record[message.timeField]),
    data: record,
  }));
}

const INT8_MAX = 2n ** 63n - 1n;

/** Times (epoch ns) arrive as numbers or, past 2^53, decimal strings; anything else (or out of int8) sorts first. */
export function toTimestamp(value: FieldValue | undefined): string {
  let n: bigint | undefined;
  if (typeof value === 'number' && Number.isFinite(value)) n = BigInt(Math.trunc(value));
  else if (typeof value === 'string' && /^-?\d{1,19}$/.test(value)) n = BigInt(value);
  return n !== undefined && n <= INT8_MAX && n >= -INT8_MAX ? n.toString() : '0';
}
