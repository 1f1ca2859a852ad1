/**
 * Which files a user's C source or bpftrace script may pull in with `#include`: checked before
 * clang or bpftrace runs, so a program naming /etc/shadow is refused with a message naming only
 * what the user wrote, never a byte of the file. One rule for both kinds.
 *
 * The check reads the source as the preprocessor will: continuation lines joined, comments
 * removed, `%:` read as `#`. A directive it cannot judge (an include computed from a macro,
 * #include_next, #import, #embed, __has_include, an assembler .incbin) is refused outright.
 * For C it is the first of two barriers: clang also runs as an unprivileged user with only the
 * shipped include directory (c-compile.ts).
 */

export type IncludeRules = 'c' | 'bpftrace';

const FORBIDDEN_DIRECTIVES = new Set(['include_next', 'import', 'embed']);

/** The refusal for the first include the rules do not allow, as the run's error; undefined if none. */
export function refusedInclude(source: string, rules: IncludeRules): string | undefined {
  const lines = preprocessorView(source).split('\n');
  for (const [i, line] of lines.entries()) {
    const where = `line ${i + 1}`;
    if (rules === 'c' && /__has_include(_next)?\b/.test(line)) return `${where}: __has_include is not allowed in a custom C program`;
    if (rules === 'c' && /\.incbin\b/.test(line)) return `${where}: .incbin is not allowed in a custom C program`;
    const directive = /^\s*(?:#|%:)\s*([A-Za-z_]\w*)\s*(.*)$/.exec(line);
    if (!directive) continue;
    const [, name, rest] = directive as unknown as [string, string, string];
    if (FORBIDDEN_DIRECTIVES.has(name)) return `${where}: #${name} is not allowed`;
    if (name !== 'include') continue;
    const quoted = /^"([^"]*)"\s*$/.exec(rest);
    const angled = /^<([^>]*)>\s*$/.exec(rest);
    const path = quoted?.[1] ?? angled?.[1];
    if (path === undefined) return `${where}: #include must name a header as "name.h" or <name.h> (a computed include cannot be checked)`;
    if (rules === 'bpftrace' && quoted) return `${where}: #include "${path}" is not allowed: bpftrace scripts may include system headers only, as <name.h>`;
    if (!isPlainRelativePath(path)) {
      return `${where}: #include ${quoted ? `"${path}"` : `<${path}>`} is outside the allowed include directories: name a header relative to them${rules === 'c' ? ' (vmlinux.h, bpf/*.h)' : ''}`;
    }
  }
  return undefined;
}

function isPlainRelativePath(path: string): boolean {
  return path.length > 0 && !path.startsWith('/') && !path.startsWith('~') && !path.includes('\\') && path.split('/').every((part) => part !== '..' && part !== '');
}

/** The source with continuation lines joined and comments blanked, one output line per source line (so line numbers hold). */
function preprocessorView(source: string): string {
  let out = '';
  let i = 0;
  let pendingNewlines = 0;
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === '\\' && next === '\n') {
      pendingNewlines++;
      i += 2;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const comment = source.slice(i, end === -1 ? source.length : end + 2);
      pendingNewlines += comment.split('\n').length - 1;
      out += ' ';
      i += comment.length;
      continue;
    }
    if (c === '/' && next === '/') {
      while (i < source.length && source[i] !== '\n') i += source[i] === '\\' && source[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== c && source[j] !== '\n') j += source[j] === '\\' ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '\n') {
      out += '\n'.repeat(pendingNewlines + 1);
      pendingNewlines = 0;
      i++;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}
