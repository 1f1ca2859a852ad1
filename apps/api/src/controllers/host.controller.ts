import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { z } from 'zod';
import { EnrolSshHostRequest, HostId, type HostDetailView, type HostView, type SshHostView } from '@fleettrace/contracts';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { Auth } from '../middleware/auth.guard';
import type { AuthContext } from '../services/auth.service';
import { HostService } from '../services/host.service';
import { SshHostService } from '../services/ssh-host.service';

const HostListQuery = z.object({ selector: z.string().min(1, 'selector must not be empty').max(4096, 'selector must be at most 4096 characters').optional() }).strict();

@Controller('v1/hosts')
export class HostController {
  constructor(
    @Inject(HostService) private readonly hosts: HostService,
    @Inject(SshHostService) private readonly sshHosts: SshHostService,
  ) {}

  /** Every host that registered and was not removed (`?selector=` narrows them), with its kind and whether it is online now. */
  @Get()
  list(@Query(new ZodValidationPipe(HostListQuery, 'query')) query: { selector?: string }): Promise<HostView[]> {
    return this.hosts.list(query.selector);
  }

  /** Enrols a host reached over SSH; `pending` until a gateway's first probe enrols or refuses it. */
  @Post('ssh')
  @HttpCode(202)
  enrolSsh(@Auth() auth: AuthContext, @Body(new ZodValidationPipe(EnrolSshHostRequest)) request: EnrolSshHostRequest): Promise<SshHostView> {
    return this.sshHosts.enrol(auth, request);
  }

  /** Every SSH enrolment, with its state (pending, enrolled, refused) and pinned host key. */
  @Get('ssh')
  listSsh(): Promise<SshHostView[]> {
    return this.sshHosts.list();
  }

  @Get('ssh/:id')
  getSsh(@Param('id', new ZodValidationPipe(HostId, 'host id')) id: string): Promise<SshHostView> {
    return this.sshHosts.get(id);
  }

  /** One host: capabilities, which catalog programs it can run (and why not), and its last 20 runs. */
  @Get(':id')
  get(@Param('id', new ZodValidationPipe(HostId, 'host id')) id: string): Promise<HostDetailView> {
    return this.hosts.get(id);
  }

  /** Removes a host of either kind; a daemon that is still running registers again at its next heartbeat. */
  @Delete(':id')
  @HttpCode(204)
  remove(@Auth() auth: AuthContext, @Param('id', new ZodValidationPipe(HostId, 'host id')) id: string): Promise<void> {
    return this.sshHosts.remove(auth, id);
  }
}
