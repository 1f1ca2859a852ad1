import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Ip, Param, Post, Query } from '@nestjs/common';
import { z } from 'zod';
import { CreateEnrolmentRequest, CreatedEnrolmentView, EnrolHostRequest, EnrolSshHostRequest, EnrolmentView, HostCredentialsView, HostDetailView, HostId, HostView, SshHostView } from '@fleettrace/contracts';
import { HostTrustService } from '../services/host-trust.service';
import { ApiRoute } from '../decorators/api-route.decorator';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { Auth } from '../middleware/auth.guard';
import type { AuthContext } from '../services/auth.service';
import { HostService } from '../services/host.service';
import { Scope } from '../decorators/scope.decorator';
import { SshHostService } from '../services/ssh-host.service';

const HostListQuery = z.object({ selector: z.string().min(1, 'selector must not be empty').max(4096, 'selector must be at most 4096 characters').optional() }).strict();

@Controller('v1/hosts')
export class HostController {
  constructor(
    @Inject(HostService) private readonly hosts: HostService,
    @Inject(SshHostService) private readonly sshHosts: SshHostService,
    @Inject(HostTrustService) private readonly trust: HostTrustService,
  ) {}

  @Post('enrolments')
  @ApiRoute({
    summary: "A one-time enrolment token for one host id: its daemon spends it (POST /v1/hosts/enrol) for the host's own Redis user.",
    description: 'The token is in this answer only; the API keeps its HMAC. Valid once, until expiresAt (default 24 h). Needs the admin scope.',
    responses: { 201: CreatedEnrolmentView },
  })
  @Scope('admin')
  createEnrolment(@Auth() auth: AuthContext, @Body(new ZodValidationPipe(CreateEnrolmentRequest)) request: CreateEnrolmentRequest): Promise<CreatedEnrolmentView> {
    return this.trust.createEnrolment(auth, request);
  }

  @Get('enrolments')
  @ApiRoute({ summary: 'Every enrolment token made, used or not; never a token. Needs the admin scope.', responses: { 200: z.array(EnrolmentView) } })
  @Scope('admin')
  listEnrolments(): Promise<EnrolmentView[]> {
    return this.trust.listEnrolments();
  }

  @Post('enrol')
  @HttpCode(200)
  @ApiRoute({
    summary: "A daemon spends its enrolment token: the API creates the host's own Redis user and answers its Redis URL, once.",
    description: 'No API token: the enrolment token is the credential. A token used, expired, unknown (401) or for another host id (403) is refused and audited.',
    responses: { 200: HostCredentialsView },
    withoutToken: true,
  })
  @Scope('enrolment-token')
  enrol(@Body(new ZodValidationPipe(EnrolHostRequest)) request: EnrolHostRequest, @Ip() address: string): Promise<HostCredentialsView> {
    return this.trust.enrol(request, address);
  }

  @Post(':id/revoke')
  @HttpCode(204)
  @ApiRoute({
    summary: "Revokes a host: its Redis user is removed and its connections cut, so its daemon is refused at once. Needs the admin scope.",
    responses: { 204: { description: 'Revoked.' } },
    errors: [404],
  })
  @Scope('admin')
  revoke(@Auth() auth: AuthContext, @Param('id', new ZodValidationPipe(HostId, 'host id')) id: string): Promise<void> {
    return this.trust.revoke(auth, id);
  }

  @Get()
  @ApiRoute({
    summary: 'Every host that registered and was not removed (`?selector=` narrows them), with its kind (daemon or ssh) and whether it is online now.',
    responses: { 200: z.array(HostView) },
  })
  @Scope('jobs:read')
  list(@Auth() auth: AuthContext, @Query(new ZodValidationPipe(HostListQuery, 'query')) query: { selector?: string }): Promise<HostView[]> {
    return this.hosts.list(auth, query.selector);
  }

  @Post('ssh')
  @HttpCode(202)
  @ApiRoute({
    summary: "Enrols a host reached over SSH: `pending` until an SSH gateway's first probe enrols it or refuses it.",
    description:
      'hostKey is the SHA256 fingerprint the host must show, or "first-use" to pin the one the first probe sees (audited). ' +
      'Private keys are never sent: gateways hold them (FLEETTRACE_SSH_KEY_DIR or an ssh-agent).',
    responses: { 202: SshHostView },
    errors: [409],
  })
  @Scope('hosts:write')
  enrolSsh(@Auth() auth: AuthContext, @Body(new ZodValidationPipe(EnrolSshHostRequest)) request: EnrolSshHostRequest): Promise<SshHostView> {
    return this.sshHosts.enrol(auth, request);
  }

  @Get('ssh')
  @ApiRoute({ summary: 'Every SSH enrolment, with its state (pending, enrolled, refused) and pinned host key.', responses: { 200: z.array(SshHostView) } })
  // Enrolments name every SSH host, whatever selector a token is limited to: for those who manage hosts.
  @Scope('hosts:write')
  listSsh(): Promise<SshHostView[]> {
    return this.sshHosts.list();
  }

  @Get('ssh/:id')
  @ApiRoute({ summary: 'One SSH enrolment: its state, pinned host key, and why it is refused or still pending.', responses: { 200: SshHostView }, errors: [404] })
  @Scope('hosts:write')
  getSsh(@Param('id', new ZodValidationPipe(HostId, 'host id')) id: string): Promise<SshHostView> {
    return this.sshHosts.get(id);
  }

  @Post('ssh/:id/bootstrap')
  @HttpCode(202)
  @ApiRoute({
    summary: 'Turns an enrolled SSH host into a daemon host (same host id): an SSH gateway installs the daemon, which enrols itself with a one-time token.',
    description:
      'Answers at once with daemon.state `installing`; GET /v1/hosts/ssh/:id then says `registered` (the daemon heartbeats; its runs go to it) or `failed` with the reason. ' +
      'The daemon reaches the API at FLEETTRACE_HOST_API_URL, else at the address this request came to. Audited (ssh-host.bootstrap).',
    responses: { 202: SshHostView },
    errors: [404, 409],
  })
  @Scope('hosts:write')
  bootstrapSsh(@Auth() auth: AuthContext, @Param('id', new ZodValidationPipe(HostId, 'host id')) id: string, @Headers('host') host: string | undefined): Promise<SshHostView> {
    return this.sshHosts.bootstrap(auth, id, `http://${host ?? '127.0.0.1'}`);
  }

  @Post('ssh/:id/uninstall')
  @HttpCode(202)
  @ApiRoute({
    summary: "Removes a bootstrapped daemon: its Redis user is revoked at once, then a gateway stops it and removes its unit and files, and the host is reached over SSH again.",
    description: 'Answers with daemon.state `uninstalling`; GET /v1/hosts/ssh/:id then shows daemon null (done) or `failed` with the reason. Audited (ssh-host.uninstall).',
    responses: { 202: SshHostView },
    errors: [404, 409],
  })
  @Scope('hosts:write')
  uninstallSsh(@Auth() auth: AuthContext, @Param('id', new ZodValidationPipe(HostId, 'host id')) id: string): Promise<SshHostView> {
    return this.sshHosts.uninstall(auth, id);
  }

  @Get(':id')
  @ApiRoute({
    summary: 'One host: capabilities, which catalog programs it can run (and why not), and its last 20 runs.',
    responses: { 200: HostDetailView },
    errors: [404],
  })
  @Scope('jobs:read')
  get(@Auth() auth: AuthContext, @Param('id', new ZodValidationPipe(HostId, 'host id')) id: string): Promise<HostDetailView> {
    return this.hosts.get(auth, id);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiRoute({
    summary:
      "Removes a host of either kind (an SSH host: its enrolment too) and revokes its own Redis user as POST /v1/hosts/:id/revoke does; its results stream is dropped once ingest stored all of it. A daemon on the shared credential registers again at its next heartbeat.",
    responses: { 204: { description: 'Removed.' } },
    errors: [404],
  })
  @Scope('hosts:write')
  remove(@Auth() auth: AuthContext, @Param('id', new ZodValidationPipe(HostId, 'host id')) id: string): Promise<void> {
    return this.sshHosts.remove(auth, id);
  }
}
