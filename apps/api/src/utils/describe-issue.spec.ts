import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeIssue } from './describe-issue';

function describeFirst(schema: z.ZodType, input: unknown, options?: { root?: string; subject?: string }): string {
  const result = schema.safeParse(input);
  if (result.success) throw new Error('expected a failure');
  return describeIssue(result.error.issues[0], input, options);
}

const schema = z.strictObject({
  durationSeconds: z.number({ error: 'durationSeconds must be a number' }).max(10, 'durationSeconds must be at most 10 s'),
  nested: z.object({ count: z.number().min(1) }).optional(),
});

describe('describeIssue', () => {
  it('keeps a message that already names its field', () => {
    expect(describeFirst(schema, { durationSeconds: 11 })).toBe('durationSeconds must be at most 10 s');
  });

  it('says a missing field is required', () => {
    expect(describeFirst(schema, {})).toBe('durationSeconds is required');
  });

  it('names unknown fields', () => {
    expect(describeFirst(schema, { durationSeconds: 1, x: 1, y: 2 })).toBe('unknown fields "x", "y"');
  });

  it('prefixes a generic message with the dotted path', () => {
    expect(describeFirst(schema, { durationSeconds: 1, nested: { count: 0 } })).toBe(
      'nested.count: Too small: expected number to be >=1',
    );
  });

  it('puts a root in front of paths, merging it with a message that starts with the field', () => {
    const params = z.strictObject({ pid: z.number().min(1, 'pid must be at least 1').optional() });
    expect(describeFirst(params, { pid: 0 }, { root: 'params' })).toBe('params.pid must be at least 1');
    expect(describeFirst(params, { pod: 1 }, { root: 'params' })).toBe('params has unknown field "pod"');
  });

  it('names the whole input when it has the wrong type', () => {
    expect(describeFirst(schema, [1], { subject: 'request body' })).toBe('request body must be a JSON object');
    expect(describeFirst(schema, undefined, { subject: 'request body' })).toBe('request body must be a JSON object');
  });
});
