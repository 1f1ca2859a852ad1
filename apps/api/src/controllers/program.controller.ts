import { Controller, Get, Inject, Param } from '@nestjs/common';
import { z } from 'zod';
import type { ProgramView } from '@fleettrace/contracts';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { ProgramService } from '../services/program.service';
import { Auth } from '../middleware/auth.guard';
import { Scope } from '../decorators/scope.decorator';
import type { AuthContext } from '../services/auth.service';

const ProgramNameParam = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'program must be a catalog name like "execsnoop"');

@Controller('v1/programs')
export class ProgramController {
  constructor(@Inject(ProgramService) private readonly programs: ProgramService) {}

  /** Every catalog program: parameters (JSON Schema), outputs, requirements, and the online hosts that can run it. */
  @Get()
  @Scope('jobs:read')
  list(@Auth() auth: AuthContext): Promise<ProgramView[]> {
    return this.programs.list(auth);
  }

  @Get(':name')
  @Scope('jobs:read')
  get(@Auth() auth: AuthContext, @Param('name', new ZodValidationPipe(ProgramNameParam, 'program')) name: string): Promise<ProgramView> {
    return this.programs.get(auth, name);
  }
}
