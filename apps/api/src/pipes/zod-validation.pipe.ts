import { BadRequestException, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { describeIssue } from '../utils/describe-issue';

/**
 * The one validation pipe: parses a request part with a zod schema (most shared through
 * libs/contracts) and answers 400 with a short sentence naming the first bad field. The OpenAPI
 * document describes a route's parameters and body by the schemas of its pipes.
 */
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    readonly schema: S,
    readonly subject = 'request body',
  ) {}

  transform(value: unknown): z.output<S> {
    const result = this.schema.safeParse(value);
    if (!result.success) throw new BadRequestException(describeIssue(result.error.issues[0], value, { subject: this.subject }));
    return result.data;
  }
}
