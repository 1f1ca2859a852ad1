/**
 * The exit codes of `fleettrace`, documented in the README: scripts branch on them, so each means
 * one thing only.
 */
export const ExitCode = {
  /** Done, and every host's run succeeded. */
  ok: 0,
  /** Something went wrong: the API refused or could not be reached, a file could not be read, a run failed locally. */
  error: 1,
  /** The command line was wrong: nothing was sent anywhere. */
  usage: 2,
  /** The job completed, but on some hosts the run did not succeed (failed, unsupported, timed out, cancelled...). */
  someHostsFailed: 3,
  /**
   * `jobs wait` stopped by Ctrl-C before the job ended (128 + SIGINT, as shells report it): the job
   * goes on. (Ctrl-C in `run` cancels the job and ends with the job's own code.)
   */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure to report in one sentence on stderr, with its exit code; never a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.error,
  ) {
    super(message);
  }
}

/** The command line itself is wrong: the message names the flag or argument. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}
