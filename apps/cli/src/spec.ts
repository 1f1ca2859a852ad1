import type { Io } from './io';

/**
 * Commands are declared as plain data (as vercel's CLI does): the parser, the help and the shell
 * completions are all generated from these specs, so a flag is written down once.
 */
export interface OptionSpec {
  /** Long name, kebab-case: `events-limit` is `--events-limit` and `options.eventsLimit`. */
  name: string;
  shorthand?: string;
  /** Placeholder of the value in help (`FORMAT`); absent for a boolean flag. */
  argument?: string;
  description: string;
  /** May be given more than once; the values arrive as an array. */
  repeatable?: boolean;
  choices?: readonly string[];
}

export interface ArgumentSpec {
  name: string;
  required: boolean;
  description: string;
}

export interface CommandExample {
  description: string;
  command: string;
}

/** What a command receives: its positional arguments and every option, the global ones too. */
export interface CommandInput {
  args: string[];
  options: Readonly<Record<string, string | boolean | string[] | undefined>>;
}

/** Runs a command; returns its exit code (commands never call process.exit themselves). */
export type CommandHandler = (input: CommandInput, io: Io) => Promise<number>;

export interface CommandSpec {
  name: string;
  description: string;
  arguments?: readonly ArgumentSpec[];
  options?: readonly OptionSpec[];
  examples?: readonly CommandExample[];
  subcommands?: readonly CommandSpec[];
  /**
   * The handler, imported only when this command runs: start-up pays for the command given, not
   * for every command (and only `local` ever loads the BPF runner).
   */
  load?: () => Promise<CommandHandler>;
}
