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
    // PostgreSQL text cannot hold NUL: refused here for every field of every request, by name,
    // rather than by the database as a 500.
    const withNul = nulPath(value, [], this.subject);
    if (withNul !== undefined) throw new BadRequestException(`${withNul.length > 0 ? withNul.join('.') : this.subject} must not contain a NUL character`);
    const result = this.schema.safeParse(value);
    if (!result.success) throw new BadRequestException(describeIssue(result.error.issues[0], value, { subject: this.subject }));
    return result.data;
  }
}

/** Deeper than any request of ours goes; past it, JSON is an attack on whatever walks it recursively. */
const MAX_DEPTH = 64;

/**
 * The path of the first string (or key) holding a NUL character, or undefined. Walks with a stack
 * of its own, not recursion: a body of 20,000 nested arrays must not overflow the call stack.
 */
function nulPath(value: unknown, path: string[], subject: string): string[] | undefined {
  const pending: Array<{ value: unknown; path: string[] }> = [{ value, path }];
  while (pending.length > 0) {
    const { value: current, path: at } = pending.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return at;
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (at.length > MAX_DEPTH) throw new BadRequestException(`${subject} is nested more than ${MAX_DEPTH} levels deep`);
    for (const [key, member] of Object.entries(current).reverse()) {
      if (key.includes('\u0000')) return [...at, key.replaceAll('\u0000', '\\0')];
      pending.push({ value: member, path: [...at, key] });
    }
  }
  return undefined;
}
