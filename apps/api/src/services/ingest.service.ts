import { Inject, Injectable, Logger } from '@nestjs/common';
import { INGEST_CONSUMER_GROUP, isTerminalRunState, traceContextOf, type DispatchRefusedMessage, type EventsMessage, type FieldValue, type ResultMessage, type SnapshotMessage, type SshProbeMessage, type SummaryMessage } from '@fleettrace/contracts';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';
import { parseResultMessage, validText } from '../dtos/result-message.dto';
import { DataRejectedError } from '../repositories/database.repository';
import { HostRepository, type Heartbeat } from '../repositories/host.repository';
import { RunRepository, type ReturnedTraceContext, type RunStateChange } from '../repositories/run.repository';
import { ResultRepository, type EventRow } from '../repositories/result.repository';
import { ConsumerGroupMissingError, ResultsStreamRepository, type StreamEntry } from '../repositories/results-stream.repository';
import { JobNotificationRepository } from '../repositories/job-notification.repository';
import { storeIsolatingRejected } from '../utils/isolate-rejected';
import { failpoint } from '../utils/failpoints';
import { RunLifecycleService, type RunTransitions } from './run-lifecycle.service';
import { OtlpExportService } from '../telemetry/otlp-export.service';
import { withTraceContext } from '../telemetry/log-trace-context';
import { ServiceMetrics } from '../telemetry/service-metrics';
import { SshHostService } from './ssh-host.service';
import { AuditRepository } from '../repositories/audit.repository';
import { stepRefusalWindows, summaryDetail, type Refusal, type RefusalWindow } from '../utils/refusal-windows';

export const INGEST_BATCH_SIZE = 100;
const BLOCK_MS = 1000;
/** The most readPaceMs holds a read back, however large the fleet. */
const READ_PACE_MAX_MS = 50;
/** After a failure ingest waits this long, doubling with each failure in a row up to RETRY_MAX_MS. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;
/** Entries another consumer holds this long without acking are taken over: that consumer is gone. */
const ABANDONED_AFTER_MS = 60_000;
const CLAIM_EVERY_MS = 30_000;
/**
 * How often the list of results streams is read again (the hosts table, and the streams that exist:
 * a new host's first heartbeat comes through a stream the API does not know yet). A new host's
 * reports wait at most this plus one blocked read.
 */
export const STREAM_REFRESH_MS = 2000;
/** A removed host's stream is deleted once ingest stored all of it and nothing came for this long. */
const REMOVED_STREAM_IDLE_MS = 60_000;
/** Runs whose late reports were logged as ignored; past this many the record starts again. */
const FROZEN_LOGGED_MAX = 10_000;
/** A reason goes into a run's error and a dead letter: long database messages are cut. */
const REASON_MAX_CHARS = 500;

interface Accepted {
  entry: StreamEntry;
  message: ResultMessage;
}

/** What ingest did not apply for a reason of its own (not the data's): counted by ServiceMetrics. */
export interface IgnoredReport {
  /** `host-mismatch`: it came through another host's stream than the one it reports for; `run-ended`: its run was terminal. */
  reason: 'host-mismatch' | 'run-ended';
  type: ResultMessage['type'];
}

/** A report screen refused, with what its audit record says. */
interface RefusedReport {
  refusal: Refusal;
  entry: StreamEntry;
  message: ResultMessage;
  /** The host it was about. */
  about: string;
}

interface SetAside {
  entry: StreamEntry;
  reason: string;
  runId?: string;
  traceparent?: string;
}

/** A report as parsing left it: to be stored, or set aside for the reason parsing gave. */
type Parsed = Accepted | SetAside;

/**
 * Moves what hosts report through their results streams (one each) into Postgres, applying only
 * what a host reports about itself and its runs, and nothing for a run that has ended (screen). A
 * batch is written in one transaction and acked only after it commits; every write is idempotent,
 * so entries redelivered after a crash between commit and ack change nothing.
 *
 * A report that cannot be stored never holds up the others: what parsing refuses, and what the
 * database refuses (found by splitting the batch until the refused report is alone), goes to the
 * dead-letter stream with its reason, and the run it reports on fails saying so. What fails for any
 * other reason (the database or Redis is away) is kept pending and retried, with a growing pause:
 * an outage must never cost a good report.
 */
@Injectable()
export class IngestService {
  private readonly logger = new Logger('Ingest');
  private running: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  private readonly frozenLogged = new Set<string>();

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(HostRepository) private readonly hosts: HostRepository,
    @Inject(RunRepository) private readonly runs: RunRepository,
    @Inject(ResultRepository) private readonly results: ResultRepository,
    @Inject(ResultsStreamRepository) private readonly stream: ResultsStreamRepository,
    @Inject(RunLifecycleService) private readonly lifecycle: RunLifecycleService,
    @Inject(JobNotificationRepository) private readonly notifications: JobNotificationRepository,
    @Inject(OtlpExportService) private readonly telemetry: Pick<OtlpExportService, 'ingested'>,
    @Inject(ServiceMetrics) private readonly metrics: Pick<ServiceMetrics, 'ingested' | 'ignored'>,
    @Inject(SshHostService) private readonly sshHosts: Pick<SshHostService, 'applyProbes'>,
    @Inject(AuditRepository) private readonly audit: Pick<AuditRepository, 'insert' | 'lockRefusalWindows' | 'saveRefusalWindows' | 'takeEndedRefusalWindows'>,
  ) {}

  start(): void {
    this.stopping = false;
    this.running ??= this.loop().finally(() => (this.running = undefined));
  }

  /** Lets the batch in hand finish (a blocked read returns within a second), then stops reading. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    const consumer = this.config.ingestConsumer;
    // What this consumer was given before a restart and never acked comes first.
    let from: 'pending' | 'new' = 'pending';
    let lastClaim = 0;
    let lastTrim = Date.now();
    let lastRefresh = 0;
    let lastWindowsClosed = Date.now();
    // The results streams read, one per host; every one has the ingest group.
    let streams: string[] = [];
    let groupsReady = false;
    let failures = 0;
    // performance.now(): the pace must not stall when the wall clock is stepped back.
    let lastFleetReadAt = -Infinity;
    let lastFleetReadFull = true;
    /** Streams whose last read returned all it asked of them: they may hold more. */
    let busy: string[] = [];
    // The batch the database is storing while the next one is read and parsed here, so the two
    // work at once; batches are still stored one at a time, in order.
    let storing: Promise<void> | undefined;
    const stored = async () => {
      const batch = storing;
      storing = undefined;
      if (!batch) return;
      await batch;
      failures = 0;
    };
    while (!this.stopping) {
      try {
        if (!groupsReady || Date.now() - lastRefresh > STREAM_REFRESH_MS) {
          // Dropping a drained stream needs its last batch acked.
          await stored();
          lastRefresh = Date.now();
          const known = streams;
          // The database away must not stop ingest reading (and retrying) what it already knows.
          streams = groupsReady
            ? await this.refreshStreams(known).catch((error: Error) => {
                this.logger.warn(`could not list the results streams again, reading the ${known.length} known: ${error.message}`);
                return known;
              })
            : await this.refreshStreams([]);
          groupsReady = true;
        }
        if (streams.length === 0) {
          await this.pause(BLOCK_MS);
          continue;
        }
        if (Date.now() - lastClaim > CLAIM_EVERY_MS) {
          await stored();
          lastClaim = Date.now();
          const claimed = await this.stream.claimAbandoned(consumer, streams, ABANDONED_AFTER_MS, INGEST_BATCH_SIZE);
          if (claimed.length > 0) await this.processBatch(claimed);
        }
        // This consumer's pending entries include the batch being stored: it goes first.
        if (from === 'pending') await stored();
        // The fleet's streams are read at the pace readPaceMs sets; in between, the streams that had
        // more than the last read could take (a busy host's backlog) are read again at once.
        const pace = readPaceMs(streams.length);
        const sinceFleetRead = performance.now() - lastFleetReadAt;
        const busyOnly = from === 'new' && busy.length > 0 && sinceFleetRead < pace;
        if (!busyOnly && !lastFleetReadFull) {
          // Until the pace is out by the clock: a timer measures from the event loop's cached time
          // and can fire a few milliseconds short of it after a busy turn.
          for (let since = sinceFleetRead; since < pace && !this.stopping; since = performance.now() - lastFleetReadAt) await this.pause(pace - since);
          if (this.stopping) break;
        }
        const count = perStreamCount(streams.length);
        const keys = busyOnly ? busy : streams;
        if (!busyOnly) lastFleetReadAt = performance.now();
        const entries = await this.stream.read(consumer, keys, { from, count, ...(busyOnly ? {} : { blockMs: BLOCK_MS }) });
        if (!busyOnly) lastFleetReadFull = entries.length >= INGEST_BATCH_SIZE;
        busy = pace > 0 ? streamsAtCount(entries, count) : [];
        if (entries.length === 0) {
          await stored();
          failures = 0;
          if (from === 'pending') from = 'new';
        } else {
          const batch = this.parse(entries);
          await stored();
          storing = this.storeInOrder(batch);
          // Its failure is thrown where it is awaited, by stored(); never unhandled meanwhile.
          storing.catch(() => undefined);
        }
        if (Date.now() - lastTrim > this.config.streamTrimIntervalMs) {
          lastTrim = Date.now();
          await this.trimStreams(streams);
        }
        // A quarter window: a flood's summary record comes at most that late after its window ends.
        if (Date.now() - lastWindowsClosed > Math.min(this.config.refusalAuditWindowMs / 4, 15_000)) {
          lastWindowsClosed = Date.now();
          await this.closeRefusalWindows();
        }
      } catch (error) {
        // A batch still being stored (the read failed meanwhile) finishes before anything is read
        // again, so no entry is ever stored by two transactions of this consumer at once.
        const inFlight = storing;
        storing = undefined;
        await inFlight?.catch(() => undefined);
        if (this.stopping) break;
        // The failed batch stays pending for this consumer; read it again before anything new.
        from = 'pending';
        if (error instanceof ConsumerGroupMissingError) {
          // A stream (or its group) is gone: the streams are listed again and each group made again
          // where missing, from the start of its stream: what is in it was either stored (and
          // storing it again changes nothing) or not yet, and must not be skipped.
          this.logger.warn(`a consumer group ${INGEST_CONSUMER_GROUP} is gone, creating it again from the start of its stream: ${error.message}`);
          groupsReady = false;
          continue;
        }
        const delayMs = Math.min(RETRY_FIRST_MS * 2 ** failures++, RETRY_MAX_MS);
        this.logger.error(`ingest batch failed, retrying in ${delayMs} ms: ${(error as Error).message}`);
        await this.pause(delayMs);
      }
    }
    await stored().catch((error: Error) => this.logger.error(`ingest batch failed while stopping, left pending: ${error.message}`));
  }

  /**
   * The results streams to read now: every live host's (the hosts table) and every stream that
   * exists (a host not registered yet reports through one). The stream of a host not registered
   * (removed) is dropped once drained and idle. Streams not in `known` get their group first.
   */
  async refreshStreams(known: readonly string[]): Promise<string[]> {
    const live = new Set((await this.hosts.liveIds()).map((id) => this.stream.keyOf(id)));
    const streams = new Set(live);
    const now = Date.now();
    for (const key of await this.stream.discover()) {
      if (!live.has(key) && (await this.stream.dropIfDrained(key, now, REMOVED_STREAM_IDLE_MS))) {
        this.logger.log(`results stream ${key} dropped: its host is not registered and ingest stored all of it`);
        continue;
      }
      streams.add(key);
    }
    const had = new Set(known);
    const ready = new Set(await this.stream.ensureGroups([...streams].filter((key) => !had.has(key))));
    return [...streams].filter((key) => had.has(key) || ready.has(key)).sort();
  }

  /** Waits, or less if stop() is called meanwhile. */
  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      if (this.stopping) return resolve();
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }

  /** Drops what every consumer has acked from the streams, so they hold only what ingest still needs. */
  async trimStreams(streams: readonly string[]): Promise<number> {
    try {
      return await this.stream.trimAcked(streams);
    } catch (error) {
      this.logger.warn(`could not trim the results streams: ${(error as Error).message}`);
      return 0;
    }
  }

  /**
   * Stores a batch in stream order: the reports the database accepts are written in as few
   * transactions as it allows; one that parsing or the database refuses is set aside (below) where
   * it stands. So a run fails at its first report that cannot be stored: what its host sent before
   * that is kept, what it sent after is frozen out as on any ended run, however reads happened to
   * cut the stream into batches. Every entry is acked once it is stored or set aside. Rejects,
   * leaving what is not stored pending, when the database or Redis fails for a reason other than
   * the data.
   */
  async processBatch(entries: readonly StreamEntry[]): Promise<void> {
    await this.storeInOrder(this.parse(entries));
  }

  /** Parsed apart from storing, so the loop parses one batch while the one before is being stored. */
  private parse(entries: readonly StreamEntry[]): Parsed[] {
    return entries.map((entry) => {
      const parsed = parseResultMessage(entry.message);
      if (!parsed.ok) return { entry, reason: parsed.reason, runId: parsed.runId };
      return { entry, message: parsed.message };
    });
  }

  private async storeInOrder(batch: readonly Parsed[]): Promise<void> {
    let storable: Accepted[] = [];
    for (const item of batch) {
      if ('message' in item) {
        storable.push(item);
        continue;
      }
      await this.store(storable);
      storable = [];
      await this.setAside(item);
    }
    await this.store(storable);
  }

  private async store(accepted: readonly Accepted[]): Promise<void> {
    // One read over many hosts' streams can bring several batches' worth: each is its own transaction.
    for (let i = 0; i < accepted.length; i += INGEST_BATCH_SIZE) {
      await storeIsolatingRejected(accepted.slice(i, i + INGEST_BATCH_SIZE), {
        store: (batch) => this.commit(batch),
        isRejection: (error) => error instanceof DataRejectedError,
        // Before anything after it is stored: isolation stores a batch's halves in order.
        rejected: (item, error) =>
          this.setAside({
            entry: item.entry,
            reason: (error as Error).message,
            runId: 'runId' in item.message ? item.message.runId : undefined,
            traceparent: 'traceparent' in item.message ? item.message.traceparent : undefined,
          }),
      });
    }
  }

  /** Under the trace context the daemon returned with the report, so the warning names the run's span. */
  private setAside({ entry, reason, runId, traceparent }: SetAside): Promise<void> {
    return withTraceContext(traceContextOf(traceparent), () => this.reject(entry, reason, runId));
  }

  private async commit(batch: readonly Accepted[]): Promise<void> {
    const outcome = await this.lifecycle.transaction((transitions) => this.write(transitions, batch));
    failpoint('ingest.after-commit');
    await this.stream.ack(batch.map((b) => b.entry));
    // Only what committed is exported; an entry redelivered after a crash may be exported twice.
    const applied = outcome.applied.map((a) => a.message);
    this.metrics.ingested(applied);
    this.metrics.ignored(outcome.ignored);
    this.telemetry.ingested(applied);
  }

  /**
   * Sets aside an entry that cannot be stored: its run (if it names one) fails with the reason, the
   * entry goes to the dead-letter stream, then it is acked. In that order, so a retry after an
   * outage redoes only what did not happen.
   */
  private async reject(entry: StreamEntry, why: string, runId: string | undefined): Promise<void> {
    const reason = shortReason(why);
    this.logger.warn(`results entry ${entry.id} could not be stored, dead-lettered: ${reason}`);
    if (runId) await this.failRun(runId, entry.hostId, reason);
    await this.stream.deadLetter([{ stream: entry.stream, id: entry.id, message: entry.message, reason }]);
    await this.stream.ack([entry]);
  }

  /** Only a run of the host that sent the bad report: a host cannot fail another's runs by sending garbage. */
  private async failRun(runId: string, sender: string, reason: string): Promise<void> {
    try {
      // Looked at in the transaction that fails it: one connection, and the run as it is then.
      await this.lifecycle.transaction(async (transitions) => {
        const run = await this.runs.findById(runId, transitions.tx);
        if (!run || run.hostId !== sender || isTerminalRunState(run.state)) return;
        const error = `a report from host ${run.hostId} could not be stored: ${reason}`;
        await transitions.apply([{ runId, state: 'failed', at: new Date(), error }]);
      });
    } catch (failure) {
      if (!(failure instanceof DataRejectedError)) throw failure;
      this.logger.error(`run ${runId} could not be marked failed: ${failure.message}`);
    }
  }

  /**
   * Each kind of write goes to the database once for the whole batch (hosts, run states, summaries,
   * events), in the order the reports came per host and per run: a statement per report was what
   * ingest lag was made of at a thousand hosts.
   */
  private async write(transitions: RunTransitions, batch: readonly Accepted[]): Promise<{ applied: Accepted[]; ignored: IgnoredReport[] }> {
    const { applied, ignored } = await this.screen(transitions, batch);
    const messages = applied.map((a) => a.message);
    const heartbeats: Heartbeat[] = [];
    const changes: RunStateChange[] = [];
    const summaries: SummaryMessage[] = [];
    const snapshots: SnapshotMessage[] = [];
    const events: EventRow[] = [];
    const probes: SshProbeMessage[] = [];
    const refusals: DispatchRefusedMessage[] = [];
    const traceContexts: ReturnedTraceContext[] = [];
    for (const message of messages) {
      if ((message.type === 'state' || message.type === 'summary') && message.traceparent !== undefined) {
        traceContexts.push({ runId: message.runId, traceparent: message.traceparent, ...(message.hostSpanId ? { hostSpanId: message.hostSpanId } : {}) });
      }
      switch (message.type) {
        case 'dispatch-refused':
          refusals.push(message);
          break;
        case 'ssh-probe':
          probes.push(message);
          break;
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
        case 'snapshot':
          snapshots.push(message);
          break;
        case 'summary':
          changes.push({ runId: message.runId, state: message.state, at: new Date(message.at), error: message.error });
          summaries.push(message);
          break;
      }
    }
    const tx = transitions.tx;
    // Before the heartbeats: a gateway reports a host's first heartbeat right after the probe that enrolled it.
    if (probes.length > 0) await this.sshHosts.applyProbes(tx, probes);
    if (heartbeats.length > 0) await this.hosts.upsert(tx, heartbeats);
    for (const refusal of refusals) changes.push(...(await this.recordRefusal(transitions, refusal)));
    if (changes.length > 0) await transitions.apply(changes);
    if (traceContexts.length > 0) await this.runs.recordTraceContexts(tx, traceContexts);
    if (summaries.length > 0) {
      await this.runs.recordSummaries(tx, summaries);
      await this.results.upsertOutputs(tx, summaries);
      await this.results.upsertEventSummaries(tx, summaries);
    }
    for (const snapshot of snapshots) {
      await this.results.upsertSnapshot(tx, { runId: snapshot.runId, seq: snapshot.seq, at: new Date(snapshot.at), outputs: snapshot.outputs });
    }
    await this.results.insertEvents(tx, events);
    // Live streams of these jobs wake when this commits (state changes notify through the runs trigger).
    const fresh = messages.filter((m) => m.type === 'events' || m.type === 'snapshot').map((m) => (m as { runId: string }).runId);
    await this.notifications.notifyJobsOfRuns(tx, fresh);
    return { applied, ignored };
  }

  /**
   * What of a batch may be applied. A report must be about its sender, the host whose stream it
   * came through (Redis lets an enrolled host write only its own): a heartbeat for that host, a
   * run's report for one of that host's runs. Anything else is refused, audited and never applied,
   * whatever credential wrote it. Reports on a run that has ended (or ends earlier in this batch)
   * are ignored: a terminal run's outputs are frozen.
   */
  private async screen(transitions: RunTransitions, batch: readonly Accepted[]): Promise<{ applied: Accepted[]; ignored: IgnoredReport[] }> {
    const runIds = batch.flatMap(({ message }) => (hasRun(message) ? [message.runId] : []));
    const runs = await this.runs.ownersAndStates(transitions.tx, runIds);
    const ended = new Map<string, string>();
    for (const [id, run] of runs) if (isTerminalRunState(run.state)) ended.set(id, run.state);
    const applied: Accepted[] = [];
    const ignored: IgnoredReport[] = [];
    const refused: RefusedReport[] = [];
    for (const accepted of batch) {
      const { entry, message } = accepted;
      const run = hasRun(message) ? runs.get(message.runId.toLowerCase()) : undefined;
      // A run ingest does not know is let through: storing it fails as it always has (dead letter).
      const about = hasRun(message) ? run?.hostId : reportedHost(message);
      if (about !== undefined && about !== entry.hostId) {
        ignored.push({ reason: 'host-mismatch', type: message.type });
        refused.push({ refusal: { streamHost: entry.hostId, reason: 'host-mismatch', type: message.type, at: new Date() }, entry, message, about });
        continue;
      }
      if (hasRun(message) && run) {
        const runId = message.runId.toLowerCase();
        const endedAs = ended.get(runId);
        if (endedAs !== undefined) {
          ignored.push({ reason: 'run-ended', type: message.type });
          this.logFrozen(runId, endedAs, message.type);
          continue;
        }
        if ((message.type === 'state' || message.type === 'summary') && isTerminalRunState(message.state)) ended.set(runId, message.state);
      }
      applied.push(accepted);
    }
    await this.auditRefusals(transitions, refused);
    return { applied, ignored };
  }

  /**
   * Audits refused reports, bounded per host and reason (utils/refusal-windows.ts): the first of
   * each window in full, the rest counted in the window's row, in this transaction, and summed up
   * in one record when the window ends. The metric counts every one (ServiceMetrics.ignored).
   */
  private async auditRefusals(transitions: RunTransitions, refused: readonly RefusedReport[]): Promise<void> {
    if (refused.length === 0) return;
    const before = await this.audit.lockRefusalWindows(transitions.tx, refused.map((r) => r.refusal));
    const windowMs = this.config.refusalAuditWindowMs;
    const step = stepRefusalWindows(before, refused.map((r) => r.refusal), new Date(), windowMs);
    for (const refusal of step.full) {
      const { entry, message, about } = refused.find((r) => r.refusal === refusal)!;
      const subject = hasRun(message) ? message.runId : about;
      const what = hasRun(message) ? `run ${subject} of host ${about}` : `host ${about}`;
      this.logger.warn(`results entry ${entry.id} of host ${entry.hostId} refused: a ${message.type} report about ${what} (more such refusals of this host in the next ${windowMs / 1000} s are counted, then summed up in one audit record)`);
      await this.audit.insert(transitions.tx, {
        actor: `host:${entry.hostId}`,
        action: 'ingest.refuse',
        subject,
        detail: { reason: refusal.reason, type: message.type, streamHost: entry.hostId, reportedHost: about, entryId: entry.id },
      });
    }
    for (const window of step.ended) await this.auditRefusalSummary(transitions, window);
    await this.audit.saveRefusalWindows(transitions.tx, step.open);
  }

  private async auditRefusalSummary(transitions: RunTransitions, window: RefusalWindow): Promise<void> {
    this.logger.warn(`host ${window.streamHost}: ${window.counted} more reports refused (${window.reason}) in the window from ${window.windowStart.toISOString()}`);
    await this.audit.insert(transitions.tx, {
      actor: `host:${window.streamHost}`,
      action: 'ingest.refuse',
      subject: window.streamHost,
      detail: summaryDetail(window, this.config.refusalAuditWindowMs),
    });
  }

  /** Ends the refusal windows that are over: each that counted refusals gets its summary record. */
  async closeRefusalWindows(now = new Date()): Promise<void> {
    try {
      await this.lifecycle.transaction(async (transitions) => {
        const ended = await this.audit.takeEndedRefusalWindows(transitions.tx, new Date(now.getTime() - this.config.refusalAuditWindowMs));
        for (const window of ended) if (window.counted > 0) await this.auditRefusalSummary(transitions, window);
      });
    } catch (error) {
      // Still in the table: the next pass (of this process or another) writes the summary.
      this.logger.warn(`could not close the ended refusal windows: ${(error as Error).message}`);
    }
  }

  /** Once per run (per process): a host that keeps reporting on an ended run must not flood the log. */
  private logFrozen(runId: string, state: string, type: string): void {
    if (this.frozenLogged.has(runId)) return;
    if (this.frozenLogged.size >= FROZEN_LOGGED_MAX) this.frozenLogged.clear();
    this.frozenLogged.add(runId);
    this.logger.warn(`run ${runId} is ${state}: its later reports (a ${type} first) are ignored`);
  }

  /**
   * A host refused a dispatch from its queue: always audited (something wrote to that queue that
   * the API did not sign for it), and the run it named fails saying why, if it is that host's own
   * run. The run id is whatever the refused dispatch claimed: a run of another host is left alone.
   */
  private async recordRefusal(transitions: RunTransitions, refusal: DispatchRefusedMessage): Promise<RunStateChange[]> {
    this.logger.warn(`host ${refusal.hostId} refused dispatch ${refusal.queuedAs}: ${refusal.reason}`);
    await this.audit.insert(transitions.tx, {
      actor: `host:${refusal.hostId}`,
      action: 'dispatch.refuse',
      subject: refusal.runId ?? refusal.queuedAs,
      detail: { hostId: refusal.hostId, queuedAs: refusal.queuedAs, reason: refusal.reason },
    });
    // In the batch's transaction: a second pooled connection taken while holding one starves the pool.
    const run = refusal.runId ? await this.runs.findById(refusal.runId, transitions.tx) : undefined;
    if (!run || run.hostId !== refusal.hostId) return [];
    return [{ runId: run.id, state: 'failed', at: new Date(refusal.at), error: `host ${refusal.hostId} refused the dispatch: ${refusal.reason}` }];
  }
}

type RunReport = Extract<ResultMessage, { type: 'state' | 'events' | 'summary' | 'snapshot' }>;

function hasRun(message: ResultMessage): message is RunReport {
  return message.type === 'state' || message.type === 'events' || message.type === 'summary' || message.type === 'snapshot';
}

/** The host a report that names no run is about. */
function reportedHost(message: ResultMessage): string | undefined {
  if (message.type === 'host') return message.host.id;
  if (message.type === 'ssh-probe' || message.type === 'dispatch-refused') return message.hostId;
  return undefined;
}

/**
 * Entries asked of each stream in one read (Redis counts per stream): at most about ten batches'
 * worth spread over the streams, at least one from each, never more than a batch from one.
 */
function perStreamCount(streams: number): number {
  return Math.max(1, Math.min(INGEST_BATCH_SIZE, Math.floor((INGEST_BATCH_SIZE * 10) / streams)));
}

/**
 * The least time from one read of every stream to the next when the first found less than a batch.
 * Such a read names every host's stream: its cost, in Redis and in building the command here, grows
 * with the fleet, not with what it finds, and 1,000 hosts' heartbeats and run reports (a few
 * entries a read) kept Redis busy and the API's requests waiting (`npm run bench -- fleet --only
 * requests` measures the job view's latency beside it). A read that finds a batch or more is
 * followed at once, and between paced reads the streams that gave all that was asked of them are
 * read again alone, so neither a busy fleet nor a few busy hosts are held back; a quiet fleet's
 * reports wait at most this much longer. Small fleets, whose reads cost little, are not paced.
 */
export function readPaceMs(streams: number): number {
  return Math.min(READ_PACE_MAX_MS, Math.floor(streams / 50));
}

/** The streams that gave `count` entries (all that a read asks of one stream). */
function streamsAtCount(entries: readonly StreamEntry[], count: number): string[] {
  const per = new Map<string, number>();
  for (const entry of entries) per.set(entry.stream, (per.get(entry.stream) ?? 0) + 1);
  return [...per].filter(([, n]) => n >= count).map(([stream]) => stream);
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

/** One line, valid text, at most REASON_MAX_CHARS: a database message may quote the data it refused. */
function shortReason(reason: string): string {
  const text = validText(reason).replace(/\s+/g, ' ').trim();
  return text.length <= REASON_MAX_CHARS ? text : `${text.slice(0, REASON_MAX_CHARS - 1)}…`;
}

const INT8_MAX = 2n ** 63n - 1n;

/** Times (epoch ns) arrive as numbers or, past 2^53, decimal strings; anything else (or out of int8) sorts first. */
export function toTimestamp(value: FieldValue | undefined): string {
  let n: bigint | undefined;
  if (typeof value === 'number' && Number.isFinite(value)) n = BigInt(Math.trunc(value));
  else if (typeof value === 'string' && /^-?\d{1,19}$/.test(value)) n = BigInt(value);
  return n !== undefined && n <= INT8_MAX && n >= -INT8_MAX ? n.toString() : '0';
}
