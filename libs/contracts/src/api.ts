import { z } from 'zod';
import { apiComponent } from './api-components';
import { HostInfo, HostKind } from './host';
import { Record as RecordSchema } from './outputs';
import { JobState, RunState } from './run-state';
import { RunCounters } from './queue';
import { RunLimitsReport, RunOverhead } from './run-limits';
import { RunWarnings } from './run-warnings';
import { JobTemplate, TargetsV2 } from './job';
import { ProgramSpec } from './program';
import { RolloutSpec } from './rollout';
import { SCHEDULE_OVERLAPS } from './schedule';
import { CountsView, HistView, JobSummary, Percentile, StacksView } from './results-views';

/**
 * Response bodies of the REST API, shared with the CLI and tests. Zod schemas, so that the OpenAPI
 * document and the tests' response checks come from them; the types are what they infer.
 */

/** Times are ISO 8601 strings in UTC (`Date.toISOString`). */
const Time = z.iso.datetime();
/** How many runs are in each state; states no run is in are left out. */
const RunStateCounts = z.partialRecord(RunState, z.number().int());

export const HostView = apiComponent(
  'HostView',
  HostInfo.extend({
    /** How the host is reached: its own daemon, or an SSH gateway. */
    kind: HostKind,
    online: z.boolean(),
    lastHeartbeatAt: Time,
    registeredAt: Time,
  }),
);
export type HostView = z.infer<typeof HostView>;

export const RunTrace = apiComponent(
  'RunTrace',
  z.object({
    /** The job's trace (W3C trace id: the job id's 16 bytes). */
    traceId: z.string(),
    /** The API's span of this run, the parent the dispatch asked the host to continue. */
    spanId: z.string(),
    /**
     * What the host returned (null until it reports its first state): the traceparent its daemon
     * continued, whether that is this run's span (false: the host's part of the trace hangs
     * elsewhere), and its daemon's own span of the run (null when the daemon exports no spans).
     */
    host: z
      .object({
        traceparent: z.string(),
        continued: z.boolean(),
        spanId: z.string().nullable(),
      })
      .nullable(),
  }),
);
export type RunTrace = z.infer<typeof RunTrace>;

export const RunView = apiComponent(
  'RunView',
  z.object({
    id: z.string(),
    hostId: z.string(),
    /** The host's name when it registered (its id if it has none). */
    hostName: z.string(),
    /** Rollout stage: 0 runs first (the canaries, or every host without a rollout), then 1, 2... */
    stage: z.number().int(),
    state: RunState,
    error: z.string().nullable(),
    verifierLog: z.string().nullable(),
    counters: RunCounters.nullable(),
    /** The limits that applied and the measured BPF overhead, from the run's summary (null before it). */
    limits: RunLimitsReport.nullable(),
    overhead: RunOverhead.nullable(),
    /** What went wrong without failing the run, from its summary (null when nothing did, or before it). */
    warnings: RunWarnings.nullable(),
    /** The run's place in its job's trace, to follow it in a tracing backend. */
    trace: RunTrace,
    /** When the run was created; a pending run has not been put in its host's queue yet. */
    queuedAt: Time,
    /** Latest time the host may start it (null while pending): past it, the run is missed. */
    startDeadline: Time.nullable(),
    /** Latest time it may still be going (start deadline + compile allowance + duration + grace): past it, the reaper ends it. */
    endDeadline: Time.nullable(),
    startedAt: Time.nullable(),
    finishedAt: Time.nullable(),
  }),
);
export type RunView = z.infer<typeof RunView>;

/** One decision or step in a job's life, in its timeline: created, canary passed, batch dispatched, cancelled... */
export const JobEventView = apiComponent(
  'JobEventView',
  z.object({
    at: Time,
    kind: z.string(),
    /** One sentence saying what happened, as the CLI shows it. */
    message: z.string(),
    detail: z.record(z.string(), z.unknown()),
  }),
);
export type JobEventView = z.infer<typeof JobEventView>;

export const JobCancellation = z.object({
  at: Time,
  by: z.string(),
  reason: z.string(),
});
export type JobCancellation = z.infer<typeof JobCancellation>;

/** Where the job view's `runs` stand among all of the job's runs. */
export const RunsPageInfo = apiComponent(
  'RunsPageInfo',
  z.object({
    /** How many runs the job has in all (its hosts). */
    total: z.number().int(),
    /** Null when `runs` holds every run; else the `cursor` of GET /v1/jobs/:id/runs for the rest. */
    nextCursor: z.string().nullable(),
  }),
);
export type RunsPageInfo = z.infer<typeof RunsPageInfo>;

export const JobView = apiComponent(
  'JobView',
  z.object({
    id: z.string(),
    /** A catalog name, or the inline bpftrace / C program as submitted. */
    program: ProgramSpec,
    params: z.record(z.string(), z.unknown()),
    targets: TargetsV2,
    durationSeconds: z.number().int(),
    rollout: RolloutSpec.nullable(),
    snapshotSeconds: z.number().int().nullable(),
    state: JobState,
    createdBy: z.string(),
    createdAt: Time,
    finishedAt: Time.nullable(),
    /** The schedule whose firing created the job, if any. */
    scheduleId: z.string().nullable(),
    cancelled: JobCancellation.nullable(),
    /** How many runs are in each state. */
    runStates: RunStateCounts,
    /** Why the runs that did not succeed ended, equal causes grouped. */
    summary: JobSummary,
    /**
     * The first page of the job's runs (at most JOB_VIEW_RUNS (100), by stage, then host id, then run id):
     * a small job's every run; a large job's rest is at `GET /v1/jobs/:id/runs?cursor=runsPage.nextCursor`.
     */
    runs: z.array(RunView),
    runsPage: RunsPageInfo,
    events: z.array(JobEventView),
  }),
);
export type JobView = z.infer<typeof JobView>;

/** A page of a job's runs (GET /v1/jobs/:id/runs), in the order of the job view's `runs`. */
export const RunPage = apiComponent(
  'RunPage',
  z.object({
    items: z.array(RunView),
    /** Pass as `cursor` for the next page; null on the last. */
    nextCursor: z.string().nullable(),
  }),
);
export type RunPage = z.infer<typeof RunPage>;

/** A job in a list: no per-run detail. */
export const JobListItem = apiComponent(
  'JobListItem',
  z.object({
    id: z.string(),
    /** The catalog name, or "bpftrace" / "c". */
    program: z.string(),
    state: JobState,
    durationSeconds: z.number().int(),
    createdBy: z.string(),
    createdAt: Time,
    finishedAt: Time.nullable(),
    scheduleId: z.string().nullable(),
    hosts: z.number().int(),
    runStates: RunStateCounts,
  }),
);
export type JobListItem = z.infer<typeof JobListItem>;

export const JobPage = apiComponent(
  'JobPage',
  z.object({
    items: z.array(JobListItem),
    /** Pass as `cursor` for the next (older) page; null on the last page. */
    nextCursor: z.string().nullable(),
  }),
);
export type JobPage = z.infer<typeof JobPage>;

export const PlannedHost = apiComponent('PlannedHost', z.object({ id: z.string(), name: z.string() }));
export type PlannedHost = z.infer<typeof PlannedHost>;

/** What `POST /v1/jobs?dryRun=true` answers: the plan, with nothing created. */
export const JobPlanView = apiComponent(
  'JobPlanView',
  z.object({
    dryRun: z.literal(true),
    /** Hosts that would run the program, in dispatch order when a rollout is set (canaries first). */
    hosts: z.array(PlannedHost),
    unsupported: z.array(PlannedHost.extend({ reason: z.string() })),
    /** Hosts the targets match that are offline: left out (named hosts are kept: they may come back in time). */
    offline: z.array(PlannedHost),
    /** Online matching hosts that `sample` or `maxHosts` left out. */
    sampledOut: z.number().int(),
    /** With a rollout: the canaries, then each batch. */
    stages: z.array(z.array(PlannedHost)).nullable(),
  }),
);
export type JobPlanView = z.infer<typeof JobPlanView>;

export const ScheduleFiringView = apiComponent(
  'ScheduleFiringView',
  z.object({
    /** When the firing was due. */
    at: Time,
    outcome: z.enum(['started', 'skipped']),
    jobId: z.string().nullable(),
    reason: z.string().nullable(),
  }),
);
export type ScheduleFiringView = z.infer<typeof ScheduleFiringView>;

export const ScheduleView = apiComponent(
  'ScheduleView',
  z.object({
    id: z.string(),
    name: z.string(),
    cron: z.string().nullable(),
    timezone: z.string().nullable(),
    everySeconds: z.number().int().nullable(),
    job: JobTemplate,
    overlap: z.enum(SCHEDULE_OVERLAPS),
    enabled: z.boolean(),
    createdBy: z.string(),
    createdAt: Time,
    updatedAt: Time,
    nextFiringAt: Time.nullable(),
    lastFiring: ScheduleFiringView.nullable(),
  }),
);
export type ScheduleView = z.infer<typeof ScheduleView>;

export const ScheduleDetailView = apiComponent(
  'ScheduleDetailView',
  ScheduleView.extend({
    /** The last 20 firings, newest first. */
    firings: z.array(ScheduleFiringView),
    /** The last 20 jobs it started, newest first. */
    jobs: z.array(JobListItem),
  }),
);
export type ScheduleDetailView = z.infer<typeof ScheduleDetailView>;

export const EventsView = apiComponent(
  'EventsView',
  z.object({
    kind: z.literal('events'),
    name: z.string(),
    received: z.number(),
    dropped: z.number(),
    /** Ordered by time; each record carries the host it came from. */
    records: z.array(RecordSchema),
  }),
);
export type EventsView = z.infer<typeof EventsView>;

/**
 * Every output kind a result lists: histograms with their percentiles, the top counts with the rest
 * summed as `other`, folded stacks (merged: with their heaviest functions), and events.
 */
export const OutputView = apiComponent('OutputView', z.discriminatedUnion('kind', [HistView, CountsView, StacksView, EventsView]));
export type OutputView = z.infer<typeof OutputView>;

export const HostResultView = apiComponent(
  'HostResultView',
  z.object({
    hostId: z.string(),
    hostName: z.string(),
    state: RunState,
    error: z.string().nullable(),
    outputs: z.array(OutputView),
  }),
);
export type HostResultView = z.infer<typeof HostResultView>;

export const JobResultsView = apiComponent(
  'JobResultsView',
  z.object({
    jobId: z.string(),
    state: JobState,
    /** Bucket-wise sums, per-key sums, per-stack sums and time-ordered events over every host that returned outputs. */
    merged: z.array(OutputView),
    hosts: z.array(HostResultView),
  }),
);
export type JobResultsView = z.infer<typeof JobResultsView>;

/** One event record of a job, with where it came from and its place in the job's time order. */
export const EventItem = apiComponent(
  'EventItem',
  z.object({
    /** Epoch ns as a decimal string (past 2^53). */
    time: z.string(),
    hostId: z.string(),
    output: z.string(),
    record: RecordSchema,
  }),
);
export type EventItem = z.infer<typeof EventItem>;

export const EventPage = apiComponent(
  'EventPage',
  z.object({
    items: z.array(EventItem),
    /** Pass as `cursor` for the next page; null on the last. */
    nextCursor: z.string().nullable(),
  }),
);
export type EventPage = z.infer<typeof EventPage>;

/** Every error the API answers: the status again, its name, and one sentence saying what was wrong. */
export const ErrorBody = apiComponent(
  'ErrorBody',
  z.object({
    statusCode: z.number().int(),
    error: z.string(),
    message: z.string(),
    /** 500 only: the id under which the API logged the error, also in `message`. */
    correlationId: z.string().optional(),
    verifierLog: z.string().optional(),
  }),
);
export type ErrorBody = z.infer<typeof ErrorBody>;

export const PercentileShiftView = z.object({
  a: Percentile.nullable(),
  b: Percentile.nullable(),
  /** b's estimate over a's; null when either side is empty. */
  ratio: z.number().nullable(),
});
export type PercentileShiftView = z.infer<typeof PercentileShiftView>;

export const HistShiftView = apiComponent(
  'HistShiftView',
  z.object({
    count: z.object({ a: z.number(), b: z.number() }),
    p50: PercentileShiftView,
    p90: PercentileShiftView,
    p99: PercentileShiftView,
  }),
);
export type HistShiftView = z.infer<typeof HistShiftView>;

export const HistComparisonView = z.object({
  name: z.string(),
  unit: z.string(),
  merged: HistShiftView,
  /** Hosts that ran in both jobs. */
  perHost: z.record(z.string(), HistShiftView),
});
export type HistComparisonView = z.infer<typeof HistComparisonView>;

export const CountDeltaView = apiComponent(
  'CountDeltaView',
  z.object({
    key: RecordSchema,
    a: z.number(),
    b: z.number(),
    delta: z.number(),
    relative: z.number().nullable(),
  }),
);
export type CountDeltaView = z.infer<typeof CountDeltaView>;

const KeyedValue = z.object({ key: RecordSchema, value: z.number() });

export const CountsComparisonView = z.object({
  name: z.string(),
  unit: z.string(),
  keyFields: z.array(z.string()),
  deltas: z.array(CountDeltaView),
  movers: z.array(CountDeltaView),
  onlyInB: z.array(KeyedValue),
  onlyInA: z.array(KeyedValue),
});
export type CountsComparisonView = z.infer<typeof CountsComparisonView>;

/** One output of two jobs compared (GET /v1/jobs/:a/compare/:b). */
export const OutputComparison = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('hist'), name: z.string(), hist: HistComparisonView }),
  z.object({ kind: z.literal('counts'), name: z.string(), counts: CountsComparisonView }),
  /** "stack valueA valueB" lines, as flamegraph's difffolded.pl writes them. */
  z.object({ kind: z.literal('stacks'), name: z.string(), diffFolded: z.string() }),
]);
export type OutputComparison = z.infer<typeof OutputComparison>;

export const JobComparisonView = apiComponent(
  'JobComparisonView',
  z.object({
    a: z.string(),
    b: z.string(),
    program: z.string(),
    outputs: z.array(OutputComparison),
    /** Output names only one of the jobs returned. */
    onlyInA: z.array(z.string()),
    onlyInB: z.array(z.string()),
  }),
);
export type JobComparisonView = z.infer<typeof JobComparisonView>;

/**
 * What `GET /v1/jobs/:id/stream` sends, as server-sent events named by `event`. Every message's SSE
 * id is where the stream stands; a client reconnecting with it as Last-Event-ID goes on from there.
 */
export const JobStreamMessage = apiComponent(
  'JobStreamMessage',
  z.discriminatedUnion('event', [
    /**
     * First, unless resuming: the job as it stands, with the first page of its runs (as many as the job
     * view carries, JOB_VIEW_RUNS). A larger job's other runs are at GET /v1/jobs/:id/runs from
     * `runsPage.nextCursor`, read after this picture, so as new as it or newer; changes after it follow as `state`.
     */
    z.object({
      event: z.literal('job'),
      data: z.object({
        state: JobState,
        runStates: RunStateCounts,
        summary: JobSummary,
        runs: z.array(z.object({ runId: z.string(), hostId: z.string(), state: RunState })),
        runsPage: RunsPageInfo,
      }),
    }),
    /** A run's state change, in the order they happened. */
    z.object({
      event: z.literal('state'),
      data: z.object({ runId: z.string(), hostId: z.string(), from: RunState, state: RunState, error: z.string().nullable(), at: Time }),
    }),
    /** Events as they arrive, in time order, filtered as the events endpoint filters them. */
    z.object({ event: z.literal('events'), data: z.object({ items: z.array(EventItem) }) }),
    /** The latest snapshot of each host's aggregate maps, merged (jobs with `snapshotSeconds`). */
    z.object({ event: z.literal('snapshot'), data: z.object({ at: Time, hosts: z.number().int(), merged: z.array(OutputView) }) }),
    /** The job completed; the stream ends. */
    z.object({ event: z.literal('end'), data: z.object({ state: JobState, runStates: RunStateCounts }) }),
  ]),
);
export type JobStreamMessage = z.infer<typeof JobStreamMessage>;

/** A host with what it can run and what it ran lately (GET /v1/hosts/:id). */
export const HostDetailView = apiComponent(
  'HostDetailView',
  HostView.extend({
    /** Every catalog program, and whether this host can run it (why not, when not). */
    programs: z.array(z.object({ name: z.string(), supported: z.boolean(), reason: z.string().nullable() })),
    /** Its last 20 runs, newest first. */
    recentRuns: z.array(
      z.object({
        runId: z.string(),
        jobId: z.string(),
        program: z.string(),
        state: RunState,
        error: z.string().nullable(),
        queuedAt: Time,
        finishedAt: Time.nullable(),
      }),
    ),
  }),
);
export type HostDetailView = z.infer<typeof HostDetailView>;

export const ProgramOutputView = z.object({
  kind: z.enum(['hist', 'counts', 'events', 'stacks']),
  name: z.string(),
  unit: z.string().nullable(),
  /** Counts: the fields each entry is keyed by. */
  keyFields: z.array(z.string()).optional(),
  /** How it is exported to OpenTelemetry: instrument, metric or event name, unit. */
  otel: z.object({ instrument: z.string(), name: z.string(), unit: z.string().optional() }).nullable(),
});
export type ProgramOutputView = z.infer<typeof ProgramOutputView>;

/** A catalog program as GET /v1/programs describes it. */
export const ProgramView = apiComponent(
  'ProgramView',
  z.object({
    name: z.string(),
    summary: z.string(),
    /** JSON Schema (2020-12) of its parameters, generated from the schema the API validates them with. */
    parameters: z.record(z.string(), z.unknown()),
    outputs: z.array(ProgramOutputView),
    /** What a host's kernel must offer. */
    requires: z.record(z.string(), z.unknown()),
    fallbacks: z.array(z.object({ lacking: z.string(), instead: z.string() })),
    /** Online hosts that can run it, and those that cannot with why. */
    hosts: z.object({ supported: z.array(z.string()), unsupported: z.array(z.object({ hostId: z.string(), reason: z.string() })) }),
  }),
);
export type ProgramView = z.infer<typeof ProgramView>;
