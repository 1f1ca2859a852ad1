import { createHash, randomUUID } from 'node:crypto';
import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import {
  JOB_VIEW_RUNS,
  bpftraceAttachKinds,
  binaryParamRefusal,
  jobCreateScope,
  programLabel,
  refusedSource,
  resolveProgramPolicy,
  resolveRunLimits,
  type CreateJobRequest,
  type JobPage,
  type JobPlanView,
  type JobView,
  type RunDispatch,
  type RunPage,
} from '@fleettrace/contracts';
import { API_CONFIG, PROGRAM_CATALOG } from '../tokens';
import type { ApiConfig } from '../config';
import type { ProgramCatalog } from './program-catalog';
import { AuthService, type AuthContext } from './auth.service';
import { AccessService } from './access.service';
import { hostsVisibleTo } from '../utils/host-access';
import { programAudit } from '../utils/program-audit';
import { planTargets, type TargetPlan } from './target-planner';
import { unsupportedReason, type ProgramRequirements } from './capability-check';
import { decodeCursor, decodeRunCursor, encodeCursor, mapJob, mapJobListItem, mapRun, runPageOf, type JobListQuery, type JobRunsQuery } from '../dtos/job.dto';
import { describeIssue } from '../utils/describe-issue';
import { rolloutStages } from '../utils/rollout-plan';
import { CoalescedReads } from '../utils/coalesced-reads';
import { JobRepository } from '../repositories/job.repository';
import { JobViewRepository } from '../repositories/job-view.repository';
import { RunRepository, type NewRun } from '../repositories/run.repository';
import { HostRepository, type HostRecord } from '../repositories/host.repository';
import { AuditRepository } from '../repositories/audit.repository';
import { QueueRepository } from '../repositories/queue.repository';
import { RunLifecycleService } from './run-lifecycle.service';
import { RolloutService } from './rollout.service';

/**
 * The last views kept to be shared again while their jobs do not change (JobService.shared). A kept
 * view costs its text, its objects and its encoding, about three times its text: a running job of
 * 1,000 hosts has a text of ~61 KB, and a dashboard polls a few jobs. A view bigger than `oneChars`
 * (verifier logs of failed runs on its first page) is not kept, and is read, parsed and encoded anew
 * each time, as every view was before.
 */
export const LAST_VIEWS = { jobs: 32, chars: 4 * 1024 * 1024, oneChars: 512 * 1024 };

/** One read of a job, shared by the requests that coalesced on it, and by later ones while the job is unchanged; `encoded` is filled on first use. */
interface SharedJobView {
  readonly view: JobView;
  encoded?: EncodedJobView;
}

/** A job view as sent: its JSON bytes and their strong ETag. */
export interface EncodedJobView {
  json: Buffer;
  /** A hash of `json`: equal bytes, equal tag, so a poller's If-None-Match is answered 304 only when nothing changed. */
  etag: string;
}

/** Who made a job: a person's token, or a schedule's firing on behalf of its owner. */
export interface JobOrigin {
  scheduleId?: string;
}

interface Plan {
  request: CreateJobRequest;
  params: Record<string, unknown>;
  limits: RunDispatch['limits'];
  targets: TargetPlan<HostRecord>;
  /** The chosen hosts that cannot run the program, with why. */
  unsupported: Map<string, string>;
  /** The chosen hosts that can, in release order, by stage. */
  stages: HostRecord[][];
}

@Injectable()
export class JobService {
  private readonly views = new CoalescedReads<string, SharedJobView>();
  /** The text of the last view of the jobs read most recently (the oldest first), and what it was shared as. */
  private readonly lastViews = new Map<string, { text: string; shared: SharedJobView }>();
  private lastViewsChars = 0;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(PROGRAM_CATALOG) private readonly catalog: ProgramCatalog,
    @Inject(JobRepository) private readonly jobs: JobRepository,
    @Inject(JobViewRepository) private readonly jobViews: JobViewRepository,
    @Inject(RunRepository) private readonly runs: RunRepository,
    @Inject(HostRepository) private readonly hosts: HostRepository,
    @Inject(AuditRepository) private readonly audit: AuditRepository,
    @Inject(QueueRepository) private readonly queues: QueueRepository,
    @Inject(RunLifecycleService) private readonly lifecycle: RunLifecycleService,
    @Inject(RolloutService) private readonly rollout: RolloutService,
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(AccessService) private readonly access: AccessService,
  ) {}

  /** What the job would do: hosts that would run it, unsupported and offline ones. Creates nothing. */
  async dryRun(auth: AuthContext, request: CreateJobRequest): Promise<JobPlanView> {
    await this.auth.require(auth, jobCreateScope(request.program), 'POST /v1/jobs');
    const plan = await this.plan(auth, request, Date.now(), { allowEmpty: true });
    const named = (h: HostRecord) => ({ id: h.id, name: h.name });
    return {
      dryRun: true,
      hosts: plan.stages.flat().map(named),
      unsupported: plan.targets.chosen.filter((h) => plan.unsupported.has(h.id)).map((h) => ({ ...named(h), reason: plan.unsupported.get(h.id)! })),
      offline: plan.targets.offline.map(named),
      sampledOut: plan.targets.sampledOut,
      stages: request.rollout ? plan.stages.map((stage) => stage.map(named)) : null,
    };
  }

  /**
   * Validates against policy and the catalog, plans the hosts, and stores the job with one run per
   * host (pending; `unsupported` at once where the host said it cannot run the program), then lets
   * the rollout release the first stage into the hosts' queues: a daemon can never take a run the
   * database does not know. The token needs the scope of the program's kind, and a host-limited
   * token plans over its own hosts only.
   */
  async create(auth: AuthContext, request: CreateJobRequest, origin: JobOrigin = {}): Promise<JobView> {
    await this.auth.require(auth, jobCreateScope(request.program), origin.scheduleId ? `firing of schedule ${origin.scheduleId}` : 'POST /v1/jobs');
    const now = Date.now();
    const plan = await this.plan(auth, request, now, { allowEmpty: false });
    const jobId = randomUUID();
    const stageOf = new Map(plan.stages.flatMap((stage, i) => stage.map((h) => [h.id, i] as const)));
    const runs: NewRun[] = plan.targets.chosen.map((host) => ({ id: randomUUID(), jobId, hostId: host.id, stage: stageOf.get(host.id) ?? 0, queuedAt: new Date(now) }));
    await this.lifecycle.transaction(async (transitions) => {
      await this.jobs.insert(transitions.tx, {
        id: jobId,
        program: request.program,
        programLabel: programLabel(request.program),
        params: plan.params,
        targets: request.targets,
        durationSeconds: request.durationSeconds,
        limits: plan.limits,
        // The creating token's, kept with the job: a schedule's firing uses its owner's (auth here).
        programPolicy: typeof request.program === 'object' && request.program.kind === 'c' ? resolveProgramPolicy(auth.scopes) : null,
        rollout: request.rollout ?? null,
        snapshotSeconds: request.snapshotSeconds ?? null,
        state: 'running',
        createdBy: auth.tokenId,
        createdAt: new Date(now),
        finishedAt: null,
        scheduleId: origin.scheduleId ?? null,
        cancelledAt: null,
        cancelledBy: null,
        cancelReason: null,
      });
      await this.runs.insertMany(transitions.tx, runs);
      const program = programAudit(request.program, plan.params);
      await this.audit.insert(transitions.tx, {
        actor: auth.tokenId,
        action: 'job.create',
        subject: jobId,
        address: auth.address,
        programSha256: program.programSha256,
        detail: {
          ...program.detail,
          targets: request.targets,
          hostIds: plan.targets.chosen.map((h) => h.id).sort(),
          durationSeconds: request.durationSeconds,
          ...(origin.scheduleId ? { scheduleId: origin.scheduleId } : {}),
          ...(request.limits ? { limits: request.limits } : {}),
          ...(request.rollout ? { rollout: request.rollout } : {}),
        },
      });
      await transitions.record(jobId, [
        {
          at: new Date(now),
          kind: 'created',
          message: createdMessage(actorLabel(auth), request, plan, origin),
          detail: { offline: plan.targets.offline.map((h) => h.id), sampledOut: plan.targets.sampledOut },
        },
      ]);
      // Hosts that reported they cannot run the program answer at once instead of failing late.
      await transitions.apply(
        runs.filter((r) => plan.unsupported.has(r.hostId)).map((r) => ({ runId: r.id, state: 'unsupported', at: new Date(now), error: plan.unsupported.get(r.hostId)! })),
      );
    });
    await this.rollout.step(jobId, now);
    return this.get(jobId);
  }

  async get(jobId: string): Promise<JobView> {
    return (await this.shared(jobId)).view;
  }

  /**
   * The job, if the token may see it (else 404, as for no such job), as JSON bytes, encoded (and
   * tagged) once per distinct view and sent as is to every poller while the job is unchanged: the
   * bytes are shared, never to be changed. It carries the first
   * JOB_VIEW_RUNS runs only: a 1,000-host job's every run made a ~430 KB body whose encoding and
   * writing, not its read, set the latency under polling; the rest are paged by runs().
   */
  async getJsonFor(auth: AuthContext, jobId: string): Promise<EncodedJobView> {
    await this.access.assertJobVisible(auth, jobId);
    const shared = await this.shared(jobId);
    if (!shared.encoded) {
      const json = Buffer.from(JSON.stringify(shared.view));
      shared.encoded = { json, etag: `"${createHash('sha256').update(json).digest('base64url').slice(0, 32)}"` };
    }
    return shared.encoded;
  }

  /**
   * Dashboards and CLIs poll a big job together: they share one read that began after they asked.
   * One statement (JobViewRepository): read apart, a batch's runs could show released while the
   * timeline lacks its release. A read that finds the job as the one before it did (the same text)
   * is shared as that one was, view and encoding made once: at 200 polls a second of a running
   * 1,000-host job, parsing, mapping, encoding and hashing every read took ~15 % of the event loop's
   * time (a CPU profile of the fleet bench's requests).
   */
  private shared(jobId: string): Promise<SharedJobView> {
    return this.views.read(jobId, async () => {
      const text = await this.jobViews.readText(jobId, JOB_VIEW_RUNS + 1);
      const last = this.forgetView(jobId);
      if (text === undefined) throw new NotFoundException(`job ${jobId} not found`);
      const shared = last?.text === text ? last.shared : { view: mapJob(this.jobViews.parse(text)) };
      this.keepView(jobId, text, shared);
      return shared;
    });
  }

  private forgetView(jobId: string): { text: string; shared: SharedJobView } | undefined {
    const last = this.lastViews.get(jobId);
    if (last) {
      this.lastViews.delete(jobId);
      this.lastViewsChars -= last.text.length;
    }
    return last;
  }

  /** Keeps the job's view as the most recent one, then forgets the oldest past LAST_VIEWS. */
  private keepView(jobId: string, text: string, shared: SharedJobView): void {
    if (text.length > LAST_VIEWS.oneChars) return;
    this.lastViews.set(jobId, { text, shared });
    this.lastViewsChars += text.length;
    for (const oldest of this.lastViews.keys()) {
      if (this.lastViews.size <= LAST_VIEWS.jobs && this.lastViewsChars <= LAST_VIEWS.chars) break;
      this.forgetView(oldest);
    }
  }

  /** A page of the job's runs, filtered by state and host; a token sees them when it sees the job. */
  async runsOf(auth: AuthContext, jobId: string, query: JobRunsQuery): Promise<RunPage> {
    const after = query.cursor === undefined ? undefined : decodeRunCursor(query.cursor);
    await this.access.assertJobVisible(auth, jobId);
    const read = await this.jobs.readAsOne(async (tx) => {
      if (!(await this.jobs.findById(jobId, tx))) throw new NotFoundException(`job ${jobId} not found`);
      return this.runs.pageByJob(jobId, {
        limit: query.limit + 1,
        ...(after ? { after } : {}),
        ...(query.state ? { states: query.state } : {}),
        ...(query.host !== undefined ? { host: query.host } : {}),
      }, tx);
    });
    const page = runPageOf(read, query.limit);
    return { items: page.items.map(mapRun), nextCursor: page.nextCursor };
  }

  async list(auth: AuthContext, query: JobListQuery): Promise<JobPage> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const onlyHosts = await this.access.visibleHostIds(auth);
    const page = await this.jobs.list(
      { state: query.state, program: query.program, createdBy: query.createdBy, scheduleId: query.scheduleId, since: query.since, until: query.until, ...(onlyHosts ? { onlyHosts } : {}) },
      query.limit + 1,
      after,
    );
    const items = page.slice(0, query.limit);
    const counts = await this.jobs.readAsOne((tx) => this.runs.stateCounts(items.map((j) => j.id), tx));
    const last = items[items.length - 1];
    return {
      items: items.map((job) => mapJobListItem(job, counts.get(job.id) ?? {})),
      nextCursor: page.length > query.limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
    };
  }

  /**
   * Stops the job: runs not yet taken by a host end `cancelled` at once and leave their queues;
   * hosts running one are told to detach now, and report it `cancelled` with what it saw so far.
   * Cancelling twice changes nothing (but is audited again); a completed job cannot be cancelled.
   */
  async cancel(auth: AuthContext, jobId: string, reason?: string): Promise<JobView> {
    await this.access.assertJobVisible(auth, jobId);
    const now = new Date();
    const who = actorLabel(auth);
    const why = reason ? `cancelled by ${who}: ${reason}` : `cancelled by ${who}`;
    const toStop = await this.lifecycle.transaction(async (transitions) => {
      const job = await this.jobs.lock(transitions.tx, jobId);
      if (!job) throw new NotFoundException(`job ${jobId} not found`);
      if (job.state === 'completed') throw new ConflictException(`job ${jobId} already completed`);
      const cancelled = await this.jobs.markCancelled(transitions.tx, jobId, { at: now, by: auth.tokenId, reason: why });
      // Asking again changes nothing, but who asked is still recorded: every accepted mutation has its record.
      const detail = { ...(reason ? { reason } : {}), ...(cancelled ? {} : { alreadyCancelled: true }) };
      await this.audit.insert(transitions.tx, { actor: auth.tokenId, action: 'job.cancel', subject: jobId, address: auth.address, detail });
      if (!cancelled) return [];
      await transitions.record(jobId, [{ at: now, kind: 'cancel_requested', message: why, detail: { by: auth.tokenId } }]);
      const runs = await this.runs.listByJob(jobId, transitions.tx);
      await transitions.apply(
        runs.filter((r) => r.state === 'pending' || r.state === 'queued').map((r) => ({ runId: r.id, state: 'cancelled', at: now, error: why })),
      );
      return runs.filter((r) => r.state !== 'pending' && r.finishedAt === null).map((r) => ({ runId: r.id, hostId: r.hostId }));
    });
    // After the commit: a daemon that takes a run from here on finds it cancelled.
    if (toStop.length > 0) await this.queues.withdraw(toStop, why);
    return this.get(jobId);
  }

  /**
   * Checks what does not depend on the fleet (duration and limits within policy, a known program
   * with valid parameters); a schedule's job template is checked so when it is saved. Returns the
   * parameters with their defaults and the resolved run limits.
   */
  check(request: CreateJobRequest): { params: Record<string, unknown>; limits: RunDispatch['limits'] } {
    if (request.durationSeconds > this.config.maxDurationSeconds) {
      throw new BadRequestException(`durationSeconds must be at most ${this.config.maxDurationSeconds} s`);
    }
    return { params: this.validateProgram(request), limits: this.runLimits(request) };
  }

  private async plan(auth: AuthContext, request: CreateJobRequest, now: number, options: { allowEmpty: boolean }): Promise<Plan> {
    const { params, limits } = this.check(request);
    // A host-limited token plans in its own fleet: a host outside it is unknown, a selector narrows to it.
    const planned = planTargets(request.targets, hostsVisibleTo(auth, await this.hosts.list()), now);
    if ('error' in planned) throw new BadRequestException(planned.error);
    const targets = planned.plan;
    if (!options.allowEmpty && targets.chosen.length === 0) {
      const offline = targets.offline.length > 0 ? ` (${targets.offline.length} matching ${targets.offline.length === 1 ? 'host is' : 'hosts are'} offline)` : '';
      throw new BadRequestException(`targets match no online host${offline}`);
    }
    const needs = this.requirements(request);
    const unsupported = new Map<string, string>();
    for (const host of targets.chosen) {
      const reason = unsupportedReason(host, needs);
      if (reason) unsupported.set(host.id, reason);
    }
    const stages = rolloutStages(
      targets.chosen.filter((h) => !unsupported.has(h.id)),
      request.rollout,
    );
    return { request, params, limits, targets, unsupported, stages };
  }

  /** The run limits every host applies, resolved here once (contracts' resolveRunLimits) and carried whole. */
  private runLimits(request: CreateJobRequest): RunDispatch['limits'] {
    const resolved = resolveRunLimits(request.limits, this.config.limitsPolicy);
    if ('error' in resolved) throw new BadRequestException(resolved.error);
    return resolved.limits;
  }

  /** What a host must have to run the job's program, by program kind. */
  private requirements(request: CreateJobRequest): ProgramRequirements {
    if (typeof request.program === 'string') {
      const program = this.catalog.get(request.program);
      return { catalogName: request.program, kernel: program?.requires ?? { attachTypes: [] }, tools: [] };
    }
    return request.program.kind === 'bpftrace'
      ? // Its probes' attach types: a kprobe script is unsupported where the probe found no kprobes.
        { kernel: { attachTypes: bpftraceAttachKinds(request.program.script) }, tools: ['bpftrace'] }
      : // A C source is compiled on the host and relocated (CO-RE) against its kernel's BTF.
        { kernel: { attachTypes: [], btf: true }, tools: ['clang'] };
  }

  /** The program must be in the catalog and its parameters must pass its schema; returns them with defaults. */
  private validateProgram(request: CreateJobRequest): Record<string, unknown> {
    // bpftrace scripts and C sources were checked by the request schema; parameters are a catalog notion.
    if (typeof request.program !== 'string') {
      if (Object.keys(request.params).length > 0) {
        throw new BadRequestException(`params apply to catalog programs only; a ${request.program.kind} program takes none`);
      }
      // Checked again on the host before clang or bpftrace runs; here so the caller learns at once.
      const refusal = request.program.kind === 'c' ? refusedSource(request.program.source, 'c') : refusedSource(request.program.script, 'bpftrace');
      if (refusal) throw new BadRequestException(`program.${request.program.kind === 'c' ? 'source' : 'script'} ${refusal}`);
      return {};
    }
    const program = this.catalog.get(request.program);
    if (!program) {
      const known = [...this.catalog.names()].sort().join(', ');
      throw new BadRequestException(`unknown program "${request.program}" (known: ${known})`);
    }
    const parsed = program.params.safeParse(request.params);
    if (!parsed.success) {
      throw new BadRequestException(describeIssue(parsed.error.issues[0], request.params, { root: 'params', subject: 'params' }));
    }
    const params = parsed.data as Record<string, unknown>;
    for (const name of program.binaryParams ?? []) {
      const refusal = typeof params[name] === 'string' ? binaryParamRefusal(params[name], this.config.binaryPrefixes) : undefined;
      if (refusal) throw new BadRequestException(`params.${name} ${refusal}`);
    }
    return params;
  }
}

/** How records name the caller: the bootstrap token by its id, others by name and id (names need not be unique). */
export function actorLabel(auth: Pick<AuthContext, 'tokenId' | 'tokenName'>): string {
  return auth.tokenId === auth.tokenName ? auth.tokenId : `${auth.tokenName} (token ${auth.tokenId})`;
}

function createdMessage(actor: string, request: CreateJobRequest, plan: Plan, origin: JobOrigin): string {
  const runnable = plan.stages.flat().length;
  const parts = [`${runnable} ${runnable === 1 ? 'host' : 'hosts'} to run it`];
  if (plan.unsupported.size > 0) parts.push(`${plan.unsupported.size} unsupported`);
  if (plan.targets.offline.length > 0) parts.push(`${plan.targets.offline.length} matching offline, left out`);
  if (plan.targets.sampledOut > 0) parts.push(`${plan.targets.sampledOut} left out by sample or maxHosts`);
  const by = origin.scheduleId ? `schedule ${origin.scheduleId} (owner ${actor})` : actor;
  return `created by ${by}: ${programLabel(request.program)} for ${request.durationSeconds} s; ${parts.join(', ')}`;
}
