import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { programFromFlags } from './program-flags';

const dir = mkdtempSync(join(tmpdir(), 'ft-cli-flags-'));
writeFileSync(join(dir, 'count.bt'), 'tracepoint:syscalls:sys_enter_getpid { @ = count(); }');
writeFileSync(join(dir, 'prog.bpf.c'), 'int x;');

const choose = (args: string[], options: Record<string, string | string[] | boolean>, requireKnown = false) => programFromFlags({ args, options }, dir, requireKnown);

describe('programFromFlags', () => {
  it('takes a catalog program with typed params, a bpftrace script from -e or -f, or C from --c with its --output declarations', () => {
    expect(choose(['execsnoop'], { param: ['pid=7'] })).toEqual({ program: 'execsnoop', params: { pid: 7 } });
    expect(choose([], { expression: 'BEGIN { exit(); }' })).toEqual({ program: { kind: 'bpftrace', script: 'BEGIN { exit(); }' }, params: {} });
    expect(choose([], { file: 'count.bt' }).program).toEqual({ kind: 'bpftrace', script: 'tracepoint:syscalls:sys_enter_getpid { @ = count(); }' });
    expect(choose([], { c: 'prog.bpf.c', output: ['hist=lat:us'] }).program).toEqual({ kind: 'c', source: 'int x;', outputs: [{ kind: 'hist', map: 'lat', unit: 'us' }] });
  });

  it('wants exactly one program, and flags that fit it', () => {
    expect(() => choose([], {})).toThrow('say what to run: a catalog program, -e SCRIPT, -f FILE or --c FILE');
    expect(() => choose(['execsnoop'], { expression: 'x' })).toThrow('give one of a catalog program, -e, -f or --c, not a catalog program and -e');
    expect(() => choose([], { expression: 'x', param: ['pid=1'] })).toThrow('--param applies to catalog programs only');
    expect(() => choose(['execsnoop'], { output: ['hist=a:us'] })).toThrow('--output declares the outputs of a --c program');
    expect(() => choose([], { c: 'prog.bpf.c' })).toThrow('--c needs at least one --output');
    expect(() => choose([], { expression: '   ' })).toThrow('program.script must not be empty');
  });

  it('leaves an unknown catalog name to the API for a fleet run, but not locally or when it could not be a name at all', () => {
    expect(choose(['brandnew'], {})).toEqual({ program: 'brandnew', params: {} });
    expect(() => choose(['execsnop'], {}, true)).toThrow('unknown program "execsnop"; did you mean execsnoop?');
    expect(() => choose(['Exec-Snoop'], {})).toThrow('unknown program "Exec-Snoop"');
  });

  it('names a script file it cannot read', () => {
    expect(() => choose([], { file: 'missing.bt' })).toThrow('-f missing.bt: no such file');
  });
});
