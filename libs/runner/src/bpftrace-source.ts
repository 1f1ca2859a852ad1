/**
 * Reading a bpftrace script's text without parsing it: where the parts that are not bpftrace code
 * end (comments, string literals, and the C preprocessor lines bpftrace hands to clang), so that a
 * scan for probes or maps never looks inside them.
 */

/** Past the comment, string or preprocessor line that starts at `at`; `at` itself when none does. */
export function skipNonCode(script: string, at: number): number {
  const c = script[at];
  const next = script[at + 1];
  if (c === '/' && next === '/') return lineEnd(script, at);
  if (c === '/' && next === '*') {
    const end = script.indexOf('*/', at + 2);
    return end === -1 ? script.length : end + 2;
  }
  if (c === '"') {
    let j = at + 1;
    while (j < script.length && script[j] !== '"') j += script[j] === '\\' ? 2 : 1;
    return Math.min(j + 1, script.length);
  }
  if (c === '#' && startsLine(script, at)) return lineEnd(script, at);
  return at;
}

function startsLine(script: string, at: number): boolean {
  let j = at - 1;
  while (j >= 0 && (script[j] === ' ' || script[j] === '\t')) j--;
  return j < 0 || script[j] === '\n';
}

function lineEnd(script: string, at: number): number {
  const end = script.indexOf('\n', at);
  return end === -1 ? script.length : end;
}
