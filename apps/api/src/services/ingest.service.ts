import { Inject, Injectable, Logger } from '@nestjs/common';
import { isTerminalRunState, type EventsMessage, type FieldValue, type ResultMessage } from '@fleettrace/contracts';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';
import { parseResultMessage } from '../dtos/result-message.dto';
import { DatabaseRepository, type Db } from '../repositories/database.repository';
import { HostRepository } from '../repositories/host.repository';
import { RunRepository } from '../repositories/run.repository';
import { JobRepository } from '../repositories/job.repository';
import { ResultRepository, type EventRow } from '../repositories/result.repository';
import { ResultsStreamRepository, type StreamEntry } from '../repositories/results-stream.repository';

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
    @Inject(DatabaseRepository) private readonly database: DatabaseRepository,
    @Inject(HostRepository) private readonly hosts: HostRepository,
    @Inject(RunRepository) private readonly runs: RunRepository,
    @Inject(JobRepository) private readonly jobs: JobRepository,
    @Inject(ResultRepository) private readonly results: ResultRepository,
    @Inject(ResultsStreamRepository) private readonly stream: ResultsStreamRepository,
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
    if (messages.length > 0) await this.database.transaction((tx) => this.write(tx, messages));
    await this.stream.ack(entries.map((e) => e.id));
  }

  private async write(tx: Db, messages: readonly ResultMessage[]): Promise<void> {
    const finishedJobs = new Set<string>();
    const events: EventRow[] = [];
    for (const message of messages) {
      switch (message.type) {
        case 'host':
          // A daemon's clock running ahead must not keep its host "online" after it stops.
          await this.hosts.upsert(tx, { host: message.host, at: new Date(Math.min(message.at, Date.now())) });
          break;
        case 'state': {
          const moved = await this.runs.advance(tx, { runId: message.runId, state: message.state, at: new Date(message.at), error: message.error });
          if (moved && isTerminalRunState(message.state)) finishedJobs.add(moved.jobId);
          break;
        }
        case 'events':
          events.push(...eventRows(message));
          break;
        case 'summary': {
          const moved = await this.runs.advance(tx, { runId: message.runId, state: message.state, at: new Date(message.at), error: message.error });
          if (moved && isTerminalRunState(message.state)) finishedJobs.add(moved.jobId);
          // The outputs are real even if the state came too late to apply (the reaper got there first).
          await this.runs.recordSummary(tx, message.runId, {
            counters: message.counters,
            verifierLog: message.verifierLog,
            limits: message.limits,
            overhead: message.overhead,
            warnings: message.warnings,
          });
          await this.results.upsertOutputs(tx, message.runId, message.outputs);
          await this.results.upsertEventSummaries(tx, message.runId, message.events);
          break;
        }
      }
    }
    await this.results.insertEvents(tx, events);
    await this.jobs.completeIfFinished(tx, [...finishedJobs]);
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
