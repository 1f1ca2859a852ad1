/**
 * What a user's C source or bpftrace script may read on a host: the files it may pull in with
 * `#include`, and for bpftrace the builtins that read files or run programs at run time. Checked
 * before clang or bpftrace runs (by the API at job creation and again on the host: refusedSource),
 * so a program naming /etc/shadow is refused with a message naming only what the user wrote, never
 * a byte of the file. One rule for both kinds.
 *
 * The check reads the source as the preprocessor will: continuation lines joined, comments
 * removed, `%:` read as `#`. A directive it cannot judge (an include computed from a macro,
 * #include_next, #import, #embed, __has_include, an assembler .incbin) is refused outright.
 * For C it is the first of two barriers: clang also runs as an unprivileged user confined by
 * Landlock to its own files and the shipped include directory (c-compile.ts), which also stops what
 * no text check can see (an assembler `.include` spelled across two string literals).
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

/**
 * Files a bpftrace script's cat() may read: system-wide load figures, nothing about a process or a
 * user (Debian's oomkill.bt prints /proc/loadavg). Named as a string literal, so the check sees
 * the path; a formatted path (`cat("/proc/%d/environ", pid)`) could be anything.
 */
export const BPFTRACE_CAT_PATHS: readonly string[] = ['/proc/loadavg', '/proc/uptime', '/proc/meminfo', '/proc/pressure/cpu', '/proc/pressure/memory', '/proc/pressure/io'];

/**
 * The first thing a user's source may not read (its includes; for bpftrace, its file-reading
 * builtins too), as the rest of "<field> ..."; undefined if none. What the API and the host check.
 */
export function refusedSource(source: string, rules: IncludeRules): string | undefined {
  return refusedInclude(source, rules) ?? (rules === 'bpftrace' ? refusedBpftraceBuiltin(source) : undefined);
}

/**
 * bpftrace 0.17 runs, as root, `cat(path)` (prints any file, /etc/shadow or another process's
 * /proc/<pid>/environ with its tokens) and `system(command)` (needs --unsafe, which fleettrace never
 * passes: refused here too, so the API says so at once). No scope lifts this: whoever may read any
 * file as root on every host is root on every host. cat() of a BPFTRACE_CAT_PATHS literal is allowed.
 * Directive lines may neither name these builtins (`#define C cat`: bpftrace expands macros in the
 * script) nor paste tokens (`##` could spell one).
 */
function refusedBpftraceBuiltin(script: string): string | undefined {
  const lines = preprocessorView(script).split('\n');
  const code: string[] = [];
  for (const [i, line] of lines.entries()) {
    const directive = /^\s*(?:#|%:)\s*([A-Za-z_]\w*)?/.exec(line);
    if (!directive) {
      code.push(line);
      continue;
    }
    code.push('');
    if (directive[1] === 'include') continue;
    const bare = withoutStrings(line);
    if (bare.includes('##')) return `line ${i + 1}: ## is not allowed in a bpftrace script (a pasted name cannot be checked)`;
    const named = /\b(cat|system)\b/.exec(bare.slice(directive[0].length));
    if (named) return `line ${i + 1}: a macro may not name ${named[1]}(): ${BUILTIN_REASON[named[1] as 'cat' | 'system']}`;
  }
  const text = code.join('\n');
  const tokens = [...text.matchAll(/"(?:[^"\\\n]|\\.)*"|[A-Za-z_]\w*|\S/g)];
  for (const [t, token] of tokens.entries()) {
    const name = token[0];
    if (name !== 'cat' && name !== 'system') continue;
    if (tokens[t + 1]?.[0] !== '(') continue;
    // A map, variable or field of that name is no call.
    const before = text[token.index - 1];
    if (before === '@' || before === '$' || before === '.' || (before === '>' && text[token.index - 2] === '-')) continue;
    const line = text.slice(0, token.index).split('\n').length;
    if (name === 'system') return `line ${line}: system() is not allowed: ${BUILTIN_REASON.system}`;
    const literal = tokens[t + 2]?.[0];
    const path = literal !== undefined && /^"[^"\\]*"$/.test(literal) ? literal.slice(1, -1) : undefined;
    if (path === undefined || tokens[t + 3]?.[0] !== ')' || !BPFTRACE_CAT_PATHS.includes(path)) {
      return `line ${line}: cat() may read only ${BPFTRACE_CAT_PATHS.join(', ')}, named as a string literal: ${BUILTIN_REASON.cat}`;
    }
  }
  return undefined;
}

const BUILTIN_REASON = {
  cat: "bpftrace's cat() reads any file as root on the host",
  system: 'it runs a command as root on the host',
};

/** The line with its string literals emptied, so that words inside them are not read as names. */
function withoutStrings(line: string): string {
  return line.replace(/"(?:[^"\\\n]|\\.)*"/g, '""');
}
