import { Controller, Get, Inject, Query } from '@nestjs/common';
import type { AuditPage } from '@fleettrace/contracts';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { Scope } from '../decorators/scope.decorator';
import { AuditService } from '../services/audit.service';
import { AuditListQuery } from '../dtos/audit.dto';

@Controller('v1/audit')
export class AuditController {
  constructor(@Inject(AuditService) private readonly audit: AuditService) {}

  /** The audit trail, newest first: filter by actor (token id), action or family ("job."), subject, address and time. */
  @Get()
  @Scope('admin')
  list(@Query(new ZodValidationPipe(AuditListQuery, 'query')) query: AuditListQuery): Promise<AuditPage> {
    return this.audit.list(query);
  }
}
