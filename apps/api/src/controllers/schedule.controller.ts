import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post } from '@nestjs/common';
import { z } from 'zod';
import { CreateScheduleRequest, UpdateScheduleRequest, type ScheduleDetailView, type ScheduleView } from '@fleettrace/contracts';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { Auth } from '../middleware/auth.guard';
import type { AuthContext } from '../services/auth.service';
import { ScheduleService } from '../services/schedule.service';
import { Scope } from '../decorators/scope.decorator';

const ScheduleIdParam = z.guid({ error: 'schedule id must be a UUID' });

@Controller('v1/schedules')
export class ScheduleController {
  constructor(@Inject(ScheduleService) private readonly schedules: ScheduleService) {}

  /** A job template fired by cron or interval; each firing is an ordinary job. The caller owns it. */
  @Post()
  @Scope('schedules:write')
  create(@Auth() auth: AuthContext, @Body(new ZodValidationPipe(CreateScheduleRequest)) request: CreateScheduleRequest): Promise<ScheduleDetailView> {
    return this.schedules.create(auth, request);
  }

  @Get()
  @Scope('jobs:read')
  list(@Auth() auth: AuthContext): Promise<ScheduleView[]> {
    return this.schedules.list(auth);
  }

  /** The schedule, its next and last firings, and its last 20 jobs with their state counts. */
  @Get(':id')
  @Scope('jobs:read')
  get(@Auth() auth: AuthContext, @Param('id', new ZodValidationPipe(ScheduleIdParam, 'schedule id')) id: string): Promise<ScheduleDetailView> {
    return this.schedules.getFor(auth, id);
  }

  /** Pause (`{"enabled":false}`), resume, or edit. */
  @Patch(':id')
  @Scope('schedules:write')
  update(
    @Auth() auth: AuthContext,
    @Param('id', new ZodValidationPipe(ScheduleIdParam, 'schedule id')) id: string,
    @Body(new ZodValidationPipe(UpdateScheduleRequest)) patch: UpdateScheduleRequest,
  ): Promise<ScheduleDetailView> {
    return this.schedules.update(auth, id, patch);
  }

  @Delete(':id')
  @HttpCode(204)
  @Scope('schedules:write')
  remove(@Auth() auth: AuthContext, @Param('id', new ZodValidationPipe(ScheduleIdParam, 'schedule id')) id: string): Promise<void> {
    return this.schedules.remove(auth, id);
  }
}
