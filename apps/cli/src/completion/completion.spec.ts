import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../commands/index';
import { programNames } from '../program/catalog';
import { bashCompletion, zshCompletion } from './completion';

const dir = mkdtempSync(join(tmpdir(), 'ft-cli-completion-'));
const bashScript = join(dir, 'fleettrace.bash');
const zshScript = join(dir, '_fleettrace');
writeFileSync(bashScript, bashCompletion(COMMANDS, programNames()));
writeFileSync(zshScript, zshCompletion(COMMANDS, programNames()));
writeFileSync(join(dir, 'trace.bt'), '');

/** What bash offers for the last word of `line` (the cursor at its end). */
function bashComplete(line: string): string[] {
  const words = line.split(' ');
  const script = `source ${bashScript}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _fleettrace; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', script], { cwd: dir }).toString().split('\n').filter(Boolean);
}

/** The same through zsh's completion function, with compadd (which matches the word typed so far, PREFIX) and _files standing in for the completion system. */
function zshComplete(line: string): string[] {
  const words = line.split(' ');
  const script = `compadd() { shift; local w; for w in "$@"; do [[ $w == "$PREFIX"* ]] && print -- $w; done; return 0; }; _files() { print -- FILES; }; source ${zshScript}; words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}; PREFIX='${words.at(-1)}'; _fleettrace`;
  return execFileSync('zsh', ['-f', '-c', script], { cwd: dir }).toString().split('\n').filter(Boolean);
}

describe.each([
  ['bash', bashComplete],
  ['zsh', zshComplete],
])('%s completion generated from the command specs', (_shell, complete) => {
  it('completes commands and subcommands', () => {
    expect(complete('fleettrace ')).toEqual(['run', 'jobs', 'hosts', 'programs', 'schedules', 'tokens', 'audit', 'local', 'completion', 'help']);
    expect(complete('fleettrace jobs ')).toEqual(['ls', 'show', 'wait', 'results', 'events', 'cancel', 'compare']);
    expect(complete('fleettrace schedules ')).toEqual(['create', 'ls', 'show', 'pause', 'resume', 'rm']);
    expect(complete('fleettrace lo')).toEqual(['local']);
  });

  it("completes a command's flags, and catalog programs where a program goes", () => {
    expect(complete('fleettrace run --dur')).toEqual(['--duration']);
    expect(complete('fleettrace local run exec')).toEqual(['execsnoop']);
    expect(complete('fleettrace run --hosts web-1 run')).toEqual(['runqlat']);
    expect(complete('fleettrace schedules create --every 5m --selector tier=web runq')).toEqual(['runqlat']);
    expect(complete('fleettrace run --can')).toEqual(['--canary']);
  });

  it("completes a flag's choices, and does not take its value for a command", () => {
    expect(complete('fleettrace hosts ls -o ')).toEqual(['table', 'json', 'ndjson', 'yaml', 'csv']);
    expect(complete('fleettrace jobs ls --state ')).toEqual(['running', 'completed']);
    expect(complete('fleettrace run --duration jobs --fie')).toEqual(['--fields']);
  });
});

describe('file arguments', () => {
  it('bash offers files for a FILE flag, zsh hands over to _files', () => {
    expect(bashComplete('fleettrace run -f tr')).toEqual(['trace.bt']);
    expect(zshComplete('fleettrace run -f tr')).toEqual(['FILES']);
  });
});
