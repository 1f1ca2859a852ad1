/**
 * The one way the SSH path turns arguments into the command line a remote shell reads (sshd hands
 * every exec request to the login shell): each argument single-quoted unless it is made only of
 * characters no shell treats specially. Nothing else in the gateway builds a shell string.
 */
const PLAIN = /^[A-Za-z0-9_/.,:=@%+-]+$/;

export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new RangeError('a shell argument cannot hold a NUL character');
  if (PLAIN.test(arg)) return arg;
  // Inside single quotes nothing is special but the quote itself: close, escaped quote, reopen.
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new RangeError('a command needs at least the program to run');
  return argv.map(shellQuote).join(' ');
}
