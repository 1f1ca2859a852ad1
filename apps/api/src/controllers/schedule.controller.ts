import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post } from '@nestjs/common';
import { z } from 'zod';
import { CreateScheduleRequest, ScheduleDetailView, ScheduleView, UpdateScheduleRequest } from '@fleettrace/contracts';
import { ApiRoute } from '../decorators/api-route.decorator';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { Auth } from '../middleware/auth.guard';
import type { AuthContext } from '../services/auth.service';
import { ScheduleService } from '../services/schedule.service';
import { Scope } from '../decorators/scope.decorator';

const ScheduleIdParam = z.guid({ error: 'schedule id must be a UUID' });

@Controller('v1/schedules')
export class ScheduleController {
  constructor(@Inject(ScheduleService) private readonly schedules: ScheduleService) {}

  @Post()
  @ApiRoute({
    summary: 'A job template fired by cron or interval; each firing is an ordinary job. The caller owns it.',
    responses: { 201: ScheduleDetailView },
  })
  @Scope('schedules:write')
  create(@Auth() auth: AuthContext, @Body(new ZodValidationPipe(CreateScheduleRequest)) request: CreateScheduleRequest): Promise<ScheduleDetailView> {
    return this.schedules.create(auth, request);
  }

  @Get()
  @ApiRoute({ summary: 'Every schedule, with its next and last firing.', responses: { 200: z.array(ScheduleView) } })
  @Scope('jobs:read')
  list(@Auth() auth: AuthContext): Promise<ScheduleView[]> {
    return this.schedules.list(auth);
  }

  @Get(':id')
  @ApiRoute({
    summary: 'The schedule, its next and last firings, and its last 20 jobs with their state counts.',
    responses: { 200: ScheduleDetailView },
    errors: [404],
  })
  @Scope('jobs:read')
  get(@Auth() auth: AuthContext, @Param('id', new ZodValidationPipe(ScheduleIdParam, 'schedule id')) id: string): Promise<ScheduleDetailView> {
    return this.schedules.getFor(auth, id);
  }

  @Patch(':id')
  @ApiRoute({ summary: 'Pause (`{"enabled":false}`), resume, or edit.', responses: { 200: ScheduleDetailView }, errors: [404] })
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
  @ApiRoute({ summary: 'Deletes the schedule; the jobs it started stay.', responses: { 204: { description: 'Deleted.' } }, errors: [404] })
  @Scope('schedules:write')
  remove(@Auth() auth: AuthContext, @Param('id', new ZodValidationPipe(ScheduleIdParam, 'schedule id')) id: string): Promise<void> {
    return this.schedules.remove(auth, id);
  }
}
