import { compareKernelVersions, parseKernelVersion } from './kernel-release';

/**
 * Which hosts a job targets, as an operator types it: `--selector 'tier=web,zone in (a,b),!canary,kernel>=6.1'`.
 * The API and the CLI both parse with this module, so a selector means the same on either side.
 *
 * Terms are separated by commas (a comma inside parentheses does not split) and all must hold.
 * Whitespace around tokens is ignored.
 *
 * Labels, with Kubernetes' set-based syntax:
 *   key=value  key==value  key!=value  key in (v1,v2)  key notin (v1,v2)  key (present)  !key (absent)
 *   `!=` and `notin` also match a host without the label, as in Kubernetes. A key is an optional DNS
 *   prefix and "/" then a name of at most 63 of [A-Za-z0-9_.-] that starts and ends alphanumeric
 *   ("example.com/role"); a value is at most 63 of [A-Za-z0-9_.-], and may be empty after = or !=.
 *
 * Host fields, which are not labels:
 *   host   =, !=, in, notin              the host's id or its name
 *   arch   =, !=, in, notin              x86_64, amd64 and x64 are one architecture; so are aarch64 and arm64
 *   kernel =, !=, <, <=, >, >=, in, notin  compared as versions: "6.1" is 6.1.0, "6.10" > "6.9", and a
 *                                         release's distribution suffix is ignored ("6.1.0-13-amd64" = 6.1).
 *                                         kernel=6.1 is 6.1.0 only: the 6.1 series is kernel>=6.1,kernel<6.2.
 *                                         A host whose release has no version matches no kernel term.
 *
 * A label named host, kernel or arch is written with the `label:` prefix: `label:kernel=lts`. ":" is
 * never part of a Kubernetes key, so the prefix cannot be mistaken for one.
 */
export type ParsedSelector = { terms: SelectorTerm[] };

/** Operators that test a value's membership; `=` holds one value, `in` one or more. */
export type MembershipOperator = '=' | '!=' | 'in' | 'notin';
export type KernelOperator = MembershipOperator | '<' | '<=' | '>' | '>=';

export type SelectorTerm =
  | { field: 'label'; key: string; op: 'exists' }
  | { field: 'label'; key: string; op: 'absent' }
  | { field: 'label'; key: string; op: MembershipOperator; values: string[] }
  | { field: 'host'; op: MembershipOperator; values: string[] }
  | { field: 'arch'; op: MembershipOperator; values: string[] }
  /** Versions as written, always major.minor[.patch]. */
  | { field: 'kernel'; op: KernelOperator; values: string[] };

/** What a selector looks at on a host: the fields of HostInfo it needs, and nothing else. */
export interface SelectableHost {
  id: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  kernelRelease: string;
  arch: string;
}

/**
 * A selector that cannot be parsed. `problem` is the message without the leading "selector: ", for
 * callers that name the field themselves (`targets.selector: ...`).
 */
export class SelectorSyntaxError extends Error {
  override readonly name = 'SelectorSyntaxError';

  constructor(
    readonly problem: string,
    /** 0-based index into the selector text; its length when the text ended too soon. */
    readonly position: number,
    /** The offending term or token; empty at the end of the text. */
    readonly part: string,
  ) {
    super(`selector: ${problem}`);
  }
}

type HostField = 'host' | 'arch' | 'kernel';
const HOST_FIELDS: readonly string[] = ['host', 'arch', 'kernel'] satisfies HostField[];

function isHostField(word: string): word is HostField {
  return HOST_FIELDS.includes(word);
}
const LABEL_PREFIX = 'label:';

const LABEL_NAME = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const MAX_DNS_SUBDOMAIN = 253;
const LABEL_VALUE = /^[A-Za-z0-9_.-]{0,63}$/;
/** Host ids are up to 128 characters; names longer or stranger than that are picked with `hosts`. */
const FIELD_VALUE = /^[A-Za-z0-9_.-]{1,128}$/;
/** Exactly a version: a suffix would look meaningful in a selector while being ignored. */
const KERNEL_VERSION = /^\d+\.\d+(\.\d+)?$/;

const KNOWN_OPERATORS = ['=', '==', '!=', '<', '<=', '>', '>='];
const ORDER_OPERATORS: readonly string[] = ['<', '<=', '>', '>='];

const WORD_CHAR = /[A-Za-z0-9_.\-/:]/;
const OPERATOR_CHAR = /[=!<>]/;
const SPACE = /\s/;

type Token = { kind: 'word' | 'operator' | '(' | ')' | ',' | 'end'; text: string; position: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const runOf = (pattern: RegExp) => {
    const start = i;
    while (i < text.length && pattern.test(text[i])) i++;
    return text.slice(start, i);
  };
  while (i < text.length) {
    const char = text[i];
    const position = i;
    if (SPACE.test(char)) i++;
    else if (char === '(' || char === ')' || char === ',') tokens.push({ kind: char, text: char, position: i++ });
    else if (WORD_CHAR.test(char)) tokens.push({ kind: 'word', text: runOf(WORD_CHAR), position });
    else if (OPERATOR_CHAR.test(char)) tokens.push({ kind: 'operator', text: runOf(OPERATOR_CHAR), position });
    else {
      const whole = String.fromCodePoint(text.codePointAt(i) ?? 0);
      throw new SelectorSyntaxError(`unexpected character ${JSON.stringify(whole)} at position ${i}`, i, whole);
    }
  }
  tokens.push({ kind: 'end', text: '', position: text.length });
  return tokens;
}

function described(token: Token): string {
  return token.kind === 'end' ? 'the end' : JSON.stringify(token.text);
}

function syntaxError(problem: string, token: Token): SelectorSyntaxError {
  return new SelectorSyntaxError(`${problem} at position ${token.position}`, token.position, token.text);
}

/** Whether `key` is a Kubernetes label key: an optional DNS-subdomain prefix and "/", then a name. */
export function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return LABEL_NAME.test(key);
  const prefix = key.slice(0, slash);
  return prefix.length <= MAX_DNS_SUBDOMAIN && DNS_SUBDOMAIN.test(prefix) && LABEL_NAME.test(key.slice(slash + 1));
}

/** Whether a selector can match `value` exactly: at most 63 of [A-Za-z0-9_.-]. */
export function isLabelValue(value: string): boolean {
  return LABEL_VALUE.test(value);
}

type Subject = { field: 'label'; key: string } | { field: HostField };

/** What a term's first word names: a host field, or a label (checked here, before its values). */
function subjectOf(token: Token): Subject {
  if (isHostField(token.text)) return { field: token.text };
  const prefixed = token.text.startsWith(LABEL_PREFIX);
  const key = prefixed ? token.text.slice(LABEL_PREFIX.length) : token.text;
  if (!isLabelKey(key)) {
    const position = token.position + (prefixed ? LABEL_PREFIX.length : 0);
    throw new SelectorSyntaxError(`invalid label key ${JSON.stringify(key)} at position ${position}`, position, key);
  }
  return { field: 'label', key };
}

/** A bare or negated key tests a label's presence, which host fields always have. */
function labelSubjectOf(token: Token): { field: 'label'; key: string } {
  const subject = subjectOf(token);
  if (subject.field !== 'label') {
    throw syntaxError(`${described(token)} is a field, not a label (write ${LABEL_PREFIX}${token.text})`, token);
  }
  return subject;
}

function checkKnownOperator(token: Token): void {
  if (!KNOWN_OPERATORS.includes(token.text)) throw syntaxError(`unknown operator ${described(token)}`, token);
}

class Parser {
  private next = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parse(): ParsedSelector {
    const terms = [this.term()];
    for (;;) {
      const token = this.take();
      if (token.kind === 'end') return { terms };
      if (token.kind !== ',') throw syntaxError(`expected ",", found ${described(token)}`, token);
      terms.push(this.term());
    }
  }

  private peek(): Token {
    return this.tokens[this.next];
  }

  private take(): Token {
    const token = this.tokens[this.next];
    if (token.kind !== 'end') this.next++;
    return token;
  }

  private term(): SelectorTerm {
    const first = this.take();
    if (first.kind === 'operator' && first.text === '!') {
      const keyToken = this.take();
      if (keyToken.kind !== 'word') throw syntaxError(`expected a label key after "!", found ${described(keyToken)}`, keyToken);
      return { ...labelSubjectOf(keyToken), op: 'absent' };
    }
    if (first.kind === 'operator') checkKnownOperator(first);
    if (first.kind !== 'word') throw syntaxError(`expected a key, found ${described(first)}`, first);

    const after = this.peek();
    if (after.kind === ',' || after.kind === 'end') return { ...labelSubjectOf(first), op: 'exists' };
    const subject = subjectOf(first);
    if (after.kind === 'word' && (after.text === 'in' || after.text === 'notin')) {
      this.take();
      return withValues(subject, after.text, this.valueList(after));
    }
    if (after.kind !== 'operator') throw syntaxError(`expected an operator after ${described(first)}, found ${described(after)}`, after);
    this.take();
    checkKnownOperator(after);
    const op = after.text === '==' ? '=' : after.text;
    if (ORDER_OPERATORS.includes(op) && subject.field !== 'kernel') throw syntaxError(`operator ${described(after)} applies only to kernel`, after);
    return withValues(subject, op, [this.singleValue(subject, after)]);
  }

  private singleValue(subject: Subject, operator: Token): Token {
    const value = this.peek();
    if (value.kind === 'word') return this.take();
    // "tier=" asks for an empty label value; a host field is never empty.
    if (subject.field === 'label' && (value.kind === ',' || value.kind === 'end')) return { kind: 'word', text: '', position: value.position };
    throw syntaxError(`expected a value after ${described(operator)}, found ${described(value)}`, value);
  }

  private valueList(keyword: Token): Token[] {
    const open = this.take();
    if (open.kind !== '(') throw syntaxError(`expected "(" after ${described(keyword)}, found ${described(open)}`, open);
    const values: Token[] = [];
    for (;;) {
      const value = this.take();
      if (value.kind !== 'word') throw syntaxError(`expected a value, found ${described(value)}`, value);
      values.push(value);
      const separator = this.take();
      if (separator.kind === ')') return values;
      if (separator.kind !== ',') throw syntaxError(`expected "," or ")", found ${described(separator)}`, separator);
    }
  }
}

function withValues(subject: Subject, op: string, valueTokens: Token[]): SelectorTerm {
  const values = valueTokens.map((token) => token.text);
  switch (subject.field) {
    case 'kernel': {
      const bad = valueTokens.find((token) => !KERNEL_VERSION.test(token.text));
      if (bad) throw syntaxError(`kernel version ${described(bad)} is not a version like 6.1`, bad);
      return { field: 'kernel', op: op as KernelOperator, values };
    }
    case 'host':
    case 'arch': {
      const bad = valueTokens.find((token) => !FIELD_VALUE.test(token.text));
      if (bad) throw syntaxError(`invalid ${subject.field} ${described(bad)}`, bad);
      return { field: subject.field, op: op as MembershipOperator, values };
    }
    case 'label': {
      const bad = valueTokens.find((token) => !isLabelValue(token.text));
      if (bad) throw syntaxError(`invalid label value ${described(bad)}`, bad);
      return { field: 'label', key: subject.key, op: op as MembershipOperator, values };
    }
  }
}

/** The terms of `text`; throws SelectorSyntaxError naming the first thing wrong and where. */
export function parseSelector(text: string): ParsedSelector {
  if (text.trim() === '') throw new SelectorSyntaxError('must not be empty', 0, '');
  return new Parser(tokenize(text)).parse();
}

/** Canonical text of a selector: parseSelector(formatSelector(s)) deep-equals s. */
export function formatSelector(selector: ParsedSelector): string {
  return selector.terms.map(formatTerm).join(',');
}

function formatTerm(term: SelectorTerm): string {
  const subject = term.field === 'label' ? (isHostField(term.key) ? `${LABEL_PREFIX}${term.key}` : term.key) : term.field;
  if (term.op === 'exists') return subject;
  if (term.op === 'absent') return `!${subject}`;
  if (term.op === 'in' || term.op === 'notin') return `${subject} ${term.op} (${term.values.join(',')})`;
  return `${subject}${term.op}${term.values[0]}`;
}

/** Whether the host satisfies every term. */
export function matchesSelector(selector: ParsedSelector, host: SelectableHost): boolean {
  return selector.terms.every((term) => termMatches(term, host));
}

/**
 * Why the host is not selected, for dry runs: the first term it fails and what it has instead,
 * like `kernel>=6.1 (kernel is 5.15.0-91-generic)`; undefined when it matches.
 */
export function selectorMismatch(selector: ParsedSelector, host: SelectableHost): string | undefined {
  const failed = selector.terms.find((term) => !termMatches(term, host));
  return failed && `${formatTerm(failed)} (${whatHostHas(failed, host)})`;
}

function termMatches(term: SelectorTerm, host: SelectableHost): boolean {
  switch (term.field) {
    case 'label': {
      const value = Object.hasOwn(host.labels, term.key) ? host.labels[term.key] : undefined;
      if (term.op === 'exists') return value !== undefined;
      if (term.op === 'absent') return value === undefined;
      return membership(term.op, value !== undefined && term.values.includes(value));
    }
    case 'host':
      return membership(term.op, term.values.some((value) => value === host.id || value === host.name));
    case 'arch':
      return membership(term.op, term.values.some((value) => sameArch(value, host.arch)));
    case 'kernel': {
      const have = parseKernelVersion(host.kernelRelease);
      if (!have) return false;
      // NaN for a version parseSelector would have refused: every comparison with it is false.
      const order = (value: string) => {
        const want = parseKernelVersion(value);
        return want ? compareKernelVersions(have, want) : NaN;
      };
      switch (term.op) {
        case '<':
          return order(term.values[0]) < 0;
        case '<=':
          return order(term.values[0]) <= 0;
        case '>':
          return order(term.values[0]) > 0;
        case '>=':
          return order(term.values[0]) >= 0;
        default:
          return membership(term.op, term.values.some((value) => order(value) === 0));
      }
    }
  }
}

function membership(op: MembershipOperator, isMember: boolean): boolean {
  return op === '=' || op === 'in' ? isMember : !isMember;
}

function whatHostHas(term: SelectorTerm, host: SelectableHost): string {
  switch (term.field) {
    case 'label':
      return Object.hasOwn(host.labels, term.key) ? `label ${term.key} is ${JSON.stringify(host.labels[term.key])}` : `no label ${term.key}`;
    case 'host':
      return `host is ${JSON.stringify(host.id)}, named ${JSON.stringify(host.name)}`;
    case 'arch':
      return `arch is ${host.arch}`;
    case 'kernel':
      return parseKernelVersion(host.kernelRelease) ? `kernel is ${host.kernelRelease}` : `kernel ${JSON.stringify(host.kernelRelease)} has no version`;
  }
}

/**
 * Daemons report Node's names (`os.arch()`: x64, arm64) while operators write the kernel's
 * (`uname -m`: x86_64, aarch64) or Debian's (amd64); all name the same machines.
 */
const ARCH_ALIASES: Readonly<Record<string, string>> = { x64: 'x86_64', amd64: 'x86_64', arm64: 'aarch64' };

function sameArch(a: string, b: string): boolean {
  return (ARCH_ALIASES[a] ?? a) === (ARCH_ALIASES[b] ?? b);
}
