import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { HostRepository } from '../repositories/host.repository';
import { RunRepository } from '../repositories/run.repository';
import { hostsVisibleTo } from '../utils/host-access';
import type { AuthContext } from './auth.service';

/**
 * What a host-limited token may read: a job is visible when every one of its runs is on a host the
 * token sees, so a team's token never reads another team's results, even of a job that also ran on
 * its own hosts. Tokens without a host selector see everything.
 */
@Injectable()
export class AccessService {
  constructor(
    @Inject(HostRepository) private readonly hosts: HostRepository,
    @Inject(RunRepository) private readonly runs: RunRepository,
  ) {}

  /** The ids of the hosts the token sees; undefined: every host. */
  async visibleHostIds(auth: AuthContext): Promise<string[] | undefined> {
    if (!auth.hostSelector) return undefined;
    return hostsVisibleTo(auth, await this.hosts.list()).map((h) => h.id);
  }

  /** 404, as for a job that does not exist, when the token may not see it. */
  async assertJobVisible(auth: AuthContext, jobId: string): Promise<void> {
    const visible = await this.visibleHostIds(auth);
    if (!visible) return;
    if (!(await this.runs.allOnHosts(jobId, visible))) throw new NotFoundException(`job ${jobId} not found`);
  }
}
