import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { z } from 'zod';
import { HostDetailView, HostId, HostView } from '@fleettrace/contracts';
import { ApiRoute } from '../decorators/api-route.decorator';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { HostService } from '../services/host.service';
import { Auth } from '../middleware/auth.guard';
import { Scope } from '../decorators/scope.decorator';
import type { AuthContext } from '../services/auth.service';

const HostListQuery = z.object({ selector: z.string().min(1, 'selector must not be empty').max(4096, 'selector must be at most 4096 characters').optional() }).strict();

@Controller('v1/hosts')
export class HostController {
  constructor(@Inject(HostService) private readonly hosts: HostService) {}

  @Get()
  @ApiRoute({
    summary: 'Every host that ever registered (`?selector=` narrows them), with whether it is online now.',
    responses: { 200: z.array(HostView) },
  })
  @Scope('jobs:read')
  list(@Auth() auth: AuthContext, @Query(new ZodValidationPipe(HostListQuery, 'query')) query: { selector?: string }): Promise<HostView[]> {
    return this.hosts.list(auth, query.selector);
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
}
