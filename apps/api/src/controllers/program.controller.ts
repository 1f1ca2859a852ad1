import { Controller, Get, Inject, Param } from '@nestjs/common';
import { z } from 'zod';
import type { ProgramView } from '@fleettrace/contracts';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { ProgramService } from '../services/program.service';

const ProgramNameParam = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'program must be a catalog name like "execsnoop"');

@Controller('v1/programs')
export class ProgramController {
  constructor(@Inject(ProgramService) private readonly programs: ProgramService) {}

  /** Every catalog program: parameters (JSON Schema), outputs, requirements, and the online hosts that can run it. */
  @Get()
  list(): Promise<ProgramView[]> {
    return this.programs.list();
  }

  @Get(':name')
  get(@Param('name', new ZodValidationPipe(ProgramNameParam, 'program')) name: string): Promise<ProgramView> {
    return this.programs.get(name);
  }
}
