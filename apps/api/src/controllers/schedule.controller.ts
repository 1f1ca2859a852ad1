import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post } from '@nestjs/common';
import { z } from 'zod';
import { CreateScheduleRequest, ScheduleDetailView, ScheduleView, UpdateScheduleRequest } from '@fleettrace/contracts';
import { ApiRoute } from '../decorators/api-route.decorator';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { Auth } from '../middleware/auth.guard';
import type { AuthContext } from '../services/auth.service';
import { ScheduleService } from '../services/schedule.service';

const ScheduleIdParam = z.guid({ error: 'schedule id must be a UUID' });

@Controller('v1/schedules')
export class ScheduleController {
  constructor(@Inject(ScheduleService) private readonly schedules: ScheduleService) {}

  @Post()
  @ApiRoute({
    summary: 'A job template fired by cron or interval; each firing is an ordinary job. The caller owns it.',
    responses: { 201: ScheduleDetailView },
  })
  create(@Auth() auth: AuthContext, @Body(new ZodValidationPipe(CreateScheduleRequest)) request: CreateScheduleRequest): Promise<ScheduleDetailView> {
    return this.schedules.create(auth, request);
  }

  @Get()
  @ApiRoute({ summary: 'Every schedule, with its next and last firing.', responses: { 200: z.array(ScheduleView) } })
  list(): Promise<ScheduleView[]> {
    return this.schedules.list();
  }

  @Get(':id')
  @ApiRoute({
    summary: 'The schedule, its next and last firings, and its last 20 jobs with their state counts.',
    responses: { 200: ScheduleDetailView },
    errors: [404],
  })
  get(@Param('id', new ZodValidationPipe(ScheduleIdParam, 'schedule id')) id: string): Promise<ScheduleDetailView> {
    return this.schedules.get(id);
  }

  @Patch(':id')
  @ApiRoute({ summary: 'Pause (`{"enabled":false}`), resume, or edit.', responses: { 200: ScheduleDetailView }, errors: [404] })
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
  remove(@Auth() auth: AuthContext, @Param('id', new ZodValidationPipe(ScheduleIdParam, 'schedule id')) id: string): Promise<void> {
    return this.schedules.remove(auth, id);
  }
}
