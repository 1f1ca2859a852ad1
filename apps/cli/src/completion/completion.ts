import { PROFILE_OPTION } from '../options';
import type { CommandSpec, OptionSpec } from '../spec';

/**
 * Shell completion scripts for bash and zsh, generated from the command specs (so a new command or
 * flag completes without touching this file). The scripts know, per command path ("", "jobs",
 * "jobs show"): its subcommands, its flags, which flags take a value (and their choices, or a
 * file), and what a positional argument is (a catalog program).
 */

interface PathInfo {
  path: string;
  subcommands: string[];
  flags: string[];
  valueFlags: string[];
  choices: Map<string, readonly string[]>;
  fileFlags: string[];
  programs: boolean;
}

const HELP: OptionSpec = { name: 'help', shorthand: 'h', description: 'show help' };
const FILE_ARGUMENTS = new Set(['FILE']);

function flagNames(option: OptionSpec): string[] {
  return [`--${option.name}`, ...(option.shorthand ? [`-${option.shorthand}`] : [])];
}

function collect(spec: { subcommands?: readonly CommandSpec[]; options?: readonly OptionSpec[]; arguments?: CommandSpec['arguments'] }, path: string, into: PathInfo[]): void {
  const options = [...(spec.options ?? []), PROFILE_OPTION, HELP];
  const info: PathInfo = {
    path,
    subcommands: (spec.subcommands ?? []).map((s) => s.name),
    flags: options.flatMap(flagNames),
    valueFlags: options.filter((o) => o.argument).flatMap(flagNames),
    choices: new Map(options.filter((o) => o.choices).flatMap((o) => flagNames(o).map((f) => [f, o.choices!] as const))),
    fileFlags: options.filter((o) => o.argument && FILE_ARGUMENTS.has(o.argument)).flatMap(flagNames),
    programs: (spec.arguments ?? []).some((a) => a.name === 'program'),
  };
  into.push(info);
  for (const sub of spec.subcommands ?? []) collect(sub, path ? `${path} ${sub.name}` : sub.name, into);
}

const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

function caseFunction(name: string, entries: ReadonlyArray<[string, string]>, fallback = ''): string {
  const arms = entries.filter(([, body]) => body !== '').map(([pattern, body]) => `    ${pattern}) ${body} ;;`);
  return [`${name}() {`, '  case "$1" in', ...arms, `    *) ${fallback || ':'} ;;`, '  esac', '}'].join('\n');
}

/** Shell functions both scripts share: plain `case` and `echo`, which bash and zsh read alike. */
function helpers(paths: readonly PathInfo[], programs: readonly string[]): string {
  const words = (list: readonly string[]) => (list.length > 0 ? `echo ${quote(list.join(' '))}` : '');
  return [
    caseFunction('_fleettrace_subcommands', paths.map((p) => [quote(p.path), words([...p.subcommands, ...(p.path === '' ? ['help'] : [])])])),
    caseFunction('_fleettrace_flags', paths.map((p) => [quote(p.path), words(p.flags)])),
    caseFunction('_fleettrace_value_flags', paths.map((p) => [quote(p.path), words(p.valueFlags)])),
    caseFunction('_fleettrace_positional', paths.filter((p) => p.programs).map((p) => [quote(p.path), words(programs)])),
    caseFunction(
      '_fleettrace_choices',
      paths.flatMap((p) => [...p.choices].map(([flag, choices]): [string, string] => [quote(`${p.path}|${flag}`), words(choices)])),
    ),
    caseFunction(
      '_fleettrace_file_flag',
      paths.flatMap((p) => p.fileFlags.map((flag): [string, string] => [quote(`${p.path}|${flag}`), 'return 0'])),
      'return 1',
    ),
  ].join('\n\n');
}

/** Walks the words before the cursor: the command path, and whether the cursor is on a flag's value. */
const WALK = (first: number, word: (i: string) => string, end: string) => `  for ((i = ${first}; i < ${end}; i++)); do
    w=${word('i')}
    if ((skip)); then skip=0; continue; fi
    case "$w" in
      -*) case " $(_fleettrace_value_flags "$cmdpath") " in *" $w "*) skip=1 ;; esac ;;
      *) case " $(_fleettrace_subcommands "$cmdpath") " in *" $w "*) cmdpath="\${cmdpath:+$cmdpath }$w" ;; esac ;;
    esac
  done`;

export function bashCompletion(commands: readonly CommandSpec[], programs: readonly string[]): string {
  const paths: PathInfo[] = [];
  collect({ subcommands: commands }, '', paths);
  return `# fleettrace completion for bash. Load it with: source <(fleettrace completion bash)
${helpers(paths, programs)}

_fleettrace() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" cmdpath="" w i skip=0
  ((COMP_CWORD > 0)) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
${WALK(1, (i) => `"\${COMP_WORDS[${i}]}"`, 'COMP_CWORD')}
  COMPREPLY=()
  if ((skip)); then
    if _fleettrace_file_flag "$cmdpath|$prev"; then
      COMPREPLY=($(compgen -f -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$(_fleettrace_choices "$cmdpath|$prev")" -- "$cur"))
    fi
    return 0
  fi
  case "$cur" in
    -*) COMPREPLY=($(compgen -W "$(_fleettrace_flags "$cmdpath")" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "$(_fleettrace_subcommands "$cmdpath") $(_fleettrace_positional "$cmdpath")" -- "$cur")) ;;
  esac
  return 0
}
complete -o default -F _fleettrace fleettrace
`;
}

export function zshCompletion(commands: readonly CommandSpec[], programs: readonly string[]): string {
  const paths: PathInfo[] = [];
  collect({ subcommands: commands }, '', paths);
  return `#compdef fleettrace
# fleettrace completion for zsh. Load it with: source <(fleettrace completion zsh)   (after compinit)
${helpers(paths, programs)}

_fleettrace() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}" cmdpath="" w
  integer i skip=0
${WALK(2, (i) => `"\${words[${i}]}"`, 'CURRENT')}
  local -a candidates
  if ((skip)); then
    if _fleettrace_file_flag "$cmdpath|$prev"; then _files; return; fi
    candidates=(\${=$(_fleettrace_choices "$cmdpath|$prev")})
  elif [[ $cur == -* ]]; then
    candidates=(\${=$(_fleettrace_flags "$cmdpath")})
  else
    candidates=(\${=$(_fleettrace_subcommands "$cmdpath")} \${=$(_fleettrace_positional "$cmdpath")})
  fi
  compadd -- \${candidates[@]}
}

if (( $+functions[compdef] )); then compdef _fleettrace fleettrace; fi
`;
}
