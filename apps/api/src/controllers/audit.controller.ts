import { Controller, Get, Inject, Query } from '@nestjs/common';
import { AuditPage } from '@fleettrace/contracts';
import { ApiRoute } from '../decorators/api-route.decorator';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { Scope } from '../decorators/scope.decorator';
import { AuditService } from '../services/audit.service';
import { AuditListQuery } from '../dtos/audit.dto';

@Controller('v1/audit')
export class AuditController {
  constructor(@Inject(AuditService) private readonly audit: AuditService) {}

  @Get()
  @ApiRoute({
    summary: 'The audit trail, newest first, paged by cursor.',
    description: 'Filter by actor (token id), action or family ("job."), subject, address and time. Needs the admin scope.',
    responses: { 200: AuditPage },
  })
  @Scope('admin')
  list(@Query(new ZodValidationPipe(AuditListQuery, 'query')) query: AuditListQuery): Promise<AuditPage> {
    return this.audit.list(query);
  }
}
