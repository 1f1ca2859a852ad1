import { describe, expect, it } from 'vitest';
import { getProgram } from './catalog';
import { parseParams } from './params';

const params = (program: string, pairs: string[]) => parseParams(program, getProgram(program), pairs);

describe('--param values typed by the catalog schema', () => {
  it('makes numbers numbers, booleans booleans (a bare name is true), strings and enums text', () => {
    expect(params('opensnoop', ['pid=42', 'failedOnly', 'comm=bash', 'commMatch=prefix'])).toEqual({ pid: 42, failedOnly: true, comm: 'bash', commMatch: 'prefix' });
    expect(params('execsnoop', ['failedOnly=false'])).toEqual({ failedOnly: false });
  });

  it('refuses unknown names, wrong types and out-of-range values with the flag and the reason', () => {
    expect(() => params('execsnoop', ['bogus=1'])).toThrow('--param bogus: execsnoop has no parameter "bogus" (parameters: pid, comm, commMatch, failedOnly)');
    expect(() => params('execsnoop', ['pid=abc'])).toThrow('--param pid=abc: pid must be a number');
    expect(() => params('execsnoop', ['failedOnly=maybe'])).toThrow('--param failedOnly=maybe: failedOnly must be true or false');
    expect(() => params('execsnoop', ['commMatch=fuzzy'])).toThrow('--param commMatch=fuzzy: commMatch must be one of exact, prefix');
    expect(() => params('execsnoop', ['pid=0'])).toThrow('--param: pid must be at least 1');
    expect(() => params('execsnoop', ['comm'])).toThrow('--param comm needs a value: --param comm=VALUE');
  });

  it('asks for the parameters a program cannot run without', () => {
    expect(() => params('funclatency', ['function=main'])).toThrow('funclatency needs --param binary=…');
    expect(params('funclatency', ['binary=/bin/bash', 'function=readline'])).toEqual({ binary: '/bin/bash', function: 'readline' });
  });

  it('passes values of a program it does not know as JSON where they parse, else as text', () => {
    expect(parseParams('newprog', undefined, ['n=5', 'on=true', 'name=web', 'flag'])).toEqual({ n: 5, on: true, name: 'web', flag: true });
  });
});
