import type { z } from 'zod';

/**
 * Turns the first problem zod found into one short sentence naming the field, e.g.
 * `durationSeconds must be at least 1 s`, `params.minUs is required`, `unknown field "foo"`.
 * `root` prefixes paths relative to a part of the request (e.g. "params"); `subject` names the whole
 * input when it has the wrong type (e.g. "request body").
 */
export function describeIssue(
  issue: z.core.$ZodIssue,
  input: unknown,
  options: { root?: string; subject?: string } = {},
): string {
  const { root, subject = 'input' } = options;
  const segments = [...(root ? [root] : []), ...issue.path.map(String)];
  const path = segments.join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    const noun = issue.keys.length === 1 ? 'field' : 'fields';
    if (path) return `${path} has unknown ${noun} ${keys}`;
    return subject === 'query' ? `unknown query ${issue.keys.length === 1 ? 'parameter' : 'parameters'} ${keys}` : `unknown ${noun} ${keys}`;
  }
  if (issue.code === 'invalid_type' && !path) {
    return `${subject} must be ${issue.expected === 'object' ? 'a JSON object' : `a ${issue.expected}`}`;
  }
  if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) return `${path} is required`;
  if (!path || issue.message.includes(path)) return issue.message;
  const last = segments[segments.length - 1];
  if (issue.message.startsWith(`${last} `)) return [...segments.slice(0, -1), issue.message].join('.');
  return `${path}: ${issue.message}`;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
