import { Controller, Get, Inject, Param } from '@nestjs/common';
import { z } from 'zod';
import { ProgramView } from '@fleettrace/contracts';
import { ApiRoute } from '../decorators/api-route.decorator';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { ProgramService } from '../services/program.service';

const ProgramNameParam = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'program must be a catalog name like "execsnoop"');

@Controller('v1/programs')
export class ProgramController {
  constructor(@Inject(ProgramService) private readonly programs: ProgramService) {}

  @Get()
  @ApiRoute({
    summary: 'Every catalog program: parameters (JSON Schema), outputs, requirements, and the online hosts that can run it.',
    responses: { 200: z.array(ProgramView) },
  })
  list(): Promise<ProgramView[]> {
    return this.programs.list();
  }

  @Get(':name')
  @ApiRoute({ summary: 'One catalog program, as the list describes it.', responses: { 200: ProgramView }, errors: [404] })
  get(@Param('name', new ZodValidationPipe(ProgramNameParam, 'program')) name: string): Promise<ProgramView> {
    return this.programs.get(name);
  }
}
