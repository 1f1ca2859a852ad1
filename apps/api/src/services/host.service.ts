import { BadRequestException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { SelectorSyntaxError, matchesSelector, parseSelector, type HostDetailView, type HostView } from '@fleettrace/contracts';
import { PROGRAM_CATALOG } from '../tokens';
import type { ProgramCatalog } from './program-catalog';
import { HostRepository } from '../repositories/host.repository';
import { RunRepository } from '../repositories/run.repository';
import { mapHost } from '../dtos/host.dto';
import { unsupportedReason } from './capability-check';
import { canSeeHost, hostsVisibleTo } from '../utils/host-access';
import type { AuthContext } from './auth.service';

const RECENT_RUNS = 20;

@Injectable()
export class HostService {
  constructor(
    @Inject(HostRepository) private readonly hosts: HostRepository,
    @Inject(RunRepository) private readonly runs: RunRepository,
    @Inject(PROGRAM_CATALOG) private readonly catalog: ProgramCatalog,
  ) {}

  /** Every host that ever registered, or those a selector matches (the grammar jobs target with). */
  async list(auth: AuthContext, selector?: string): Promise<HostView[]> {
    let parsed;
    try {
      parsed = selector === undefined ? undefined : parseSelector(selector);
    } catch (error) {
      if (error instanceof SelectorSyntaxError) throw new BadRequestException(`selector: ${error.problem}`);
      throw error;
    }
    const now = Date.now();
    return hostsVisibleTo(auth, await this.hosts.list()).filter((host) => !parsed || matchesSelector(parsed, host)).map((host) => mapHost(host, now));
  }

  /** One host: its capabilities, whether it can run each catalog program, and its latest runs. */
  async get(auth: AuthContext, id: string): Promise<HostDetailView> {
    const host = await this.hosts.findById(id);
    if (!host || !canSeeHost(auth, host)) throw new NotFoundException(`host ${id} not found`);
    // A job that also ran on hosts the token does not see is not the token's to read (AccessService).
    const onlyHosts = auth.hostSelector ? hostsVisibleTo(auth, await this.hosts.list()).map((h) => h.id) : undefined;
    const recent = await this.runs.recentOfHost(id, RECENT_RUNS, onlyHosts);
    return {
      ...mapHost(host, Date.now()),
      programs: [...this.catalog.names()].sort().map((name) => {
        const reason = unsupportedReason(host, { catalogName: name, kernel: this.catalog.get(name)!.requires, tools: [] });
        return { name, supported: reason === undefined, reason: reason ?? null };
      }),
      recentRuns: recent.map((run) => ({
        runId: run.id,
        jobId: run.jobId,
        program: run.program,
        state: run.state,
        error: run.error,
        queuedAt: run.queuedAt.toISOString(),
        finishedAt: run.finishedAt?.toISOString() ?? null,
      })),
    };
  }
}
