// Typed failures of the loader. The native addon throws these same classes (handed to it at init).
import { getSystemErrorMap } from 'node:util';

const systemErrors = getSystemErrorMap();

// libbpf's own error numbers (enum libbpf_errno in libbpf.h), returned e.g. for malformed ELF.
const libbpfErrors: ReadonlyMap<number, [string, string]> = new Map(
  (
    [
      ['LIBELF', 'something wrong in libelf'],
      ['FORMAT', 'BPF object format invalid'],
      ['KVERSION', "'version' section incorrect or lost"],
      ['ENDIAN', 'endian mismatch'],
      ['INTERNAL', 'internal error in libbpf'],
      ['RELOC', 'relocation failed'],
      ['LOAD', 'failed to load BPF program'],
      ['VERIFY', 'kernel verifier blocks program loading'],
      ['PROG2BIG', 'program too big'],
      ['KVER', 'incorrect kernel version'],
      ['PROGTYPE', 'kernel does not support this program type'],
      ['WRNGPID', 'wrong pid in netlink message'],
      ['INVSEQ', 'invalid netlink sequence'],
      ['NLPARSE', 'netlink attribute parse error'],
    ] as const
  ).map(([name, text], i) => [4000 + i, [`LIBBPF_ERRNO__${name}`, text]]),
);

function describeErrno(errno: number): [string, string] | undefined {
  return systemErrors.get(-errno) ?? libbpfErrors.get(errno);
}

/** "EACCES" for 13, "LIBBPF_ERRNO__FORMAT" for 4001; "errno N" for numbers nobody names. */
export function errnoName(errno: number): string {
  return describeErrno(errno)?.[0] ?? `errno ${errno}`;
}

function errnoText(errno: number): string {
  const known = describeErrno(errno);
  return known ? `${known[0]} (${known[1]})` : `errno ${errno}`;
}

/** The last `count` non-empty lines of a multi-line text. */
export function lastLines(text: string, count: number): string {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-count)
    .join('\n');
}

/** A failed kernel or libbpf operation. `op` names it ("load", "attach", "lookup", ...). */
export class BpfError extends Error {
  readonly op: string;
  readonly errno: number;
  /** errno's symbolic name, e.g. "EPERM". */
  readonly code: string;
  /** What libbpf printed while the operation ran: its own account of the failure. */
  readonly libbpfOutput: string;

  constructor(op: string, errno: number, subject = '', libbpfOutput = '') {
    const context = lastLines(libbpfOutput, 3);
    super(
      `${op}${subject ? ` ${subject}` : ''} failed: ${errnoText(errno)}` + (context ? `\n${context}` : ''),
    );
    this.name = 'BpfError';
    this.op = op;
    this.errno = errno;
    this.code = errnoName(errno);
    this.libbpfOutput = libbpfOutput;
  }
}

/** How many lines of the verifier log the message carries; the full log is in `.log`. */
const VERIFIER_MESSAGE_LINES = 6;

/** The kernel verifier rejected a program. `.log` is the whole verifier log. */
export class VerifierError extends BpfError {
  readonly program: string;
  readonly log: string;

  constructor(program: string, errno: number, log: string, libbpfOutput = '') {
    super('load', errno, program, libbpfOutput);
    this.name = 'VerifierError';
    this.program = program;
    this.log = log;
    this.message =
      `verifier rejected program '${program}' (${errnoName(errno)}):\n` + lastLines(log, VERIFIER_MESSAGE_LINES);
  }
}

/** A kernel or libbpf feature the request needs is absent. */
export class NotSupportedError extends Error {
  readonly feature: string;

  constructor(feature: string, detail = '') {
    super(`${feature} is not supported${detail ? `: ${detail}` : ''}`);
    this.name = 'NotSupportedError';
    this.feature = feature;
  }
}

/** A program, map or global name the object does not have; or a binary or interface the host does not have. */
export class NotFoundError extends Error {
  readonly kind: 'program' | 'map' | 'global' | 'binary' | 'interface';
  readonly key: string;

  /** `where`: the BPF object's name, or for binaries and interfaces where they were looked for. */
  constructor(kind: NotFoundError['kind'], key: string, where: string, known: readonly string[]) {
    const bpfKind = kind === 'program' || kind === 'map' || kind === 'global';
    super(
      bpfKind
        ? `${kind} '${key}' not found in BPF object '${where}'` +
            (known.length ? ` (it has: ${known.join(', ')})` : ` (it has no ${kind}s)`)
        : `${kind} '${key}' not found in ${where}` + (known.length ? ` (there are: ${known.join(', ')})` : ''),
    );
    this.name = 'NotFoundError';
    this.kind = kind;
    this.key = key;
  }
}

/** The object (or consumer, or link) was used after close(). */
export class ClosedError extends Error {
  constructor(what: string) {
    super(`${what} is closed`);
    this.name = 'ClosedError';
  }
}
