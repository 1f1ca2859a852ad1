import { BadRequestException, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { describeIssue } from '../utils/describe-issue';

/**
 * The one validation pipe: parses a request part with a zod schema (most shared through
 * libs/contracts) and answers 400 with a short sentence naming the first bad field.
 */
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    private readonly schema: S,
    private readonly subject = 'request body',
  ) {}

  transform(value: unknown): z.output<S> {
    const result = this.schema.safeParse(value);
    if (!result.success) throw new BadRequestException(describeIssue(result.error.issues[0], value, { subject: this.subject }));
    return result.data;
  }
}
