import { Command, CommanderError, Option } from 'commander';
import { CliError, ExitCode } from './errors';
import type { Io } from './io';
import { PROFILE_OPTION } from './options';
import { type CommandInput, type CommandSpec, type OptionSpec } from './spec';
import { VERSION } from './version';

const HELP_HINT = '(run with --help for usage)';

interface Selected {
  spec: CommandSpec;
  input: CommandInput;
}

function flagsOf(option: OptionSpec): string {
  const long = `--${option.name}${option.argument ? ` <${option.argument}>` : ''}`;
  return option.shorthand ? `-${option.shorthand}, ${long}` : long;
}

function commanderOption(option: OptionSpec): Option {
  const built = new Option(flagsOf(option), option.description);
  if (option.choices) built.choices(option.choices);
  if (option.repeatable) built.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
  return built;
}

/**
 * The commander command of a spec. With `deep` false its subcommands are left out: they are added
 * by `buildProgram`'s hook only when the command is the one given, so a start-up constructs the
 * subtree of one command, not of all (the top-level help needs no more than each command's name,
 * description, arguments and whether it has options).
 */
function addCommand(parent: Command, spec: CommandSpec, io: Io, select: (selected: Selected) => void, deep = true): Command {
  const command = parent.command(spec.name).description(spec.description);
  for (const argument of spec.arguments ?? []) {
    command.argument(argument.required ? `<${argument.name}>` : `[${argument.name}]`, argument.description);
  }
  for (const option of spec.options ?? []) command.addOption(commanderOption(option));
  if (spec.examples?.length) {
    const lines = spec.examples.flatMap((e) => [`  # ${e.description}`, `  $ ${e.command}`]);
    command.addHelpText('after', `\nExamples:\n${lines.join('\n')}`);
  }
  if (deep) addSubcommands(command, spec, io, select);
  configure(command, io);
  if (spec.load) {
    command.action((...received: unknown[]) => {
      // commander passes the arguments, then the options object, then the command itself.
      const self = received.at(-1) as Command;
      const args = received.slice(0, spec.arguments?.length ?? 0).filter((a): a is string => typeof a === 'string');
      select({ spec, input: { args, options: self.optsWithGlobals() } });
    });
  }
  return command;
}

function addSubcommands(command: Command, spec: CommandSpec, io: Io, select: (selected: Selected) => void): void {
  for (const sub of spec.subcommands ?? []) addCommand(command, sub, io, select);
}

function configure(command: Command, io: Io): void {
  command
    .exitOverride()
    .showHelpAfterError(HELP_HINT)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .helpOption('-h, --help', 'show help')
    .configureHelp({ showGlobalOptions: true });
}

/**
 * The commander program for a set of command specs: parsing, help and errors, no side effects.
 * `argv` only tells which command `help <command>` shows, whose help commander prints without
 * dispatching to it (so without the hook that completes a command).
 */
export function buildProgram(commands: readonly CommandSpec[], io: Io, select: (selected: Selected) => void, argv: readonly string[] = []): Command {
  const program = new Command('fleettrace')
    .description('Run eBPF tracing programs on a fleet of Linux hosts, or on this one, and read the merged answer.')
    .version(VERSION, '-V, --version', 'print the version')
    .addOption(commanderOption(PROFILE_OPTION))
    .helpCommand('help [command]', 'show help for a command')
    .addHelpText('after', EXIT_CODES_HELP);
  configure(program, io);
  const shallow = new Map<Command, CommandSpec>();
  // Built whole up front, wherever `help` is (after --profile NAME too): one more command built
  // than needed at worst, never a help without its subcommands.
  const helpAt = argv.indexOf('help');
  const helpFor = helpAt < 0 ? undefined : argv[helpAt + 1];
  for (const spec of commands) {
    if (spec.name === helpFor) addCommand(program, spec, io, select);
    else shallow.set(addCommand(program, spec, io, select, false), spec);
  }
  // Before the given command parses the rest of the command line, its subcommands are added.
  program.hook('preSubcommand', (_program, command) => {
    const spec = shallow.get(command);
    if (!spec) return;
    shallow.delete(command);
    addSubcommands(command, spec, io, select);
  });
  return program;
}

const EXIT_CODES_HELP = `
Exit codes:
  0    success: done, and every host's run succeeded
  1    error (the API refused or was unreachable, a run failed locally)
  2    usage error (a wrong flag or argument: nothing was sent)
  3    the job completed, but the run failed on some hosts (or was cancelled: Ctrl-C in run cancels the job)
  130  Ctrl-C in jobs wait: it stopped waiting; the job goes on`;

/** Parses argv, runs the chosen command, and returns the exit code; every failure is one line on stderr. */
export async function runCli(argv: readonly string[], io: Io, commands: readonly CommandSpec[]): Promise<number> {
  let selected: Selected | undefined;
  const program = buildProgram(commands, io, (s) => (selected = s), argv);
  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return ExitCode.usage;
    }
    program.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return commanderExitCode(error);
    throw error;
  }
  if (!selected?.spec.load) return ExitCode.usage;
  try {
    const handler = await selected.spec.load();
    return await handler(selected.input, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`error: ${error.message}\n`);
      if (error.exitCode === ExitCode.usage) io.stderr.write(`${HELP_HINT}\n`);
      return error.exitCode;
    }
    throw error;
  }
}

/** Help and --version end well; any other complaint of the parser is a usage error. */
function commanderExitCode(error: CommanderError): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
  if (error.code === 'commander.help') return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  return ExitCode.usage;
}

