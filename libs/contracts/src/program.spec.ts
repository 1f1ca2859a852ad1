import { describe, expect, it } from 'vitest';
import { CreateJobRequest } from './job';
import { MAX_PROGRAM_TEXT_BYTES, programSpecProblem } from './program';

const c = (outputs: unknown, extra: Record<string, unknown> = {}) => ({ kind: 'c', source: 'int x;', outputs, ...extra });

describe('programSpecProblem', () => {
  it.each([
    ['execsnoop', undefined],
    [{ kind: 'bpftrace', script: 'BEGIN { exit(); }' }, undefined],
    [c([{ kind: 'hist', map: 'lat', unit: 'us' }, { kind: 'counts', map: 'counts', unit: 'calls', name: 'calls' }, { kind: 'events', ringBuffer: 'events', recordType: 'struct event', timeField: 'ts' }]), undefined],
    ['Exec snoop', 'program must be a catalog name like "execsnoop"'],
    [42, 'program must be a catalog name or an object {"kind":"bpftrace"|"c", ...}'],
    [{ kind: 'lua' }, 'program.kind must be "bpftrace" or "c"'],
    [{ kind: 'bpftrace' }, 'program.script must be a string'],
    [{ kind: 'bpftrace', script: '  \n' }, 'program.script must not be empty'],
    [{ kind: 'bpftrace', script: 'x'.repeat(MAX_PROGRAM_TEXT_BYTES + 1) }, `program.script must be at most ${MAX_PROGRAM_TEXT_BYTES} bytes`],
    [{ kind: 'bpftrace', script: 'BEGIN {}', source: 'x' }, 'program has unknown field "source"'],
    [{ kind: 'c', source: '', outputs: [] }, 'program.source must not be empty'],
    [c(undefined), 'program.outputs must be an array of output declarations'],
    [c([]), 'program.outputs must declare at least one output'],
    [c([{ kind: 'hist', map: 'not a map', unit: 'us' }]), 'program.outputs[0].map must be a map name'],
    [c([{ kind: 'counts', map: 'm', unit: 'calls' }, { kind: 'counts', map: 'm2' }]), 'program.outputs[1].unit must be a unit like "us" or "calls"'],
    [c([{ kind: 'events', ringBuffer: 'rb', recordType: 'struct event *' }]), 'program.outputs[0].recordType must be a C type like "struct event"'],
    [c([{ kind: 'events', ringBuffer: 'rb', recordType: 'struct event', timeField: '1ts' }]), 'program.outputs[0].timeField must be a field name'],
    [c([{ kind: 'stacks', map: 'm' }]), 'program.outputs[0].kind must be "hist", "counts" or "events"'],
    [c([{ kind: 'hist', map: 'm', unit: 'us', bins: 3 }]), 'program.outputs[0] has unknown field "bins"'],
    [c([{ kind: 'hist', map: 'm', unit: 'us' }, { kind: 'counts', map: 'other', unit: 'x', name: 'm' }]), 'program.outputs[1].name "m" is already used by another output'],
  ])('%j → %s', (program, message) => {
    expect(programSpecProblem(program)).toBe(message);
  });

  it('is what the job request schema reports, and it types the program', () => {
    const bad = CreateJobRequest.safeParse({ program: { kind: 'bpftrace', script: '' }, durationSeconds: 1 });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => [i.path, i.message])).toEqual([[['program'], 'program.script must not be empty']]);
    expect(CreateJobRequest.safeParse({ durationSeconds: 1 }).error?.issues[0].message).toBe('program is required');
    expect(CreateJobRequest.parse({ program: { kind: 'bpftrace', script: 'BEGIN {}' }, durationSeconds: 1 }).program).toEqual({ kind: 'bpftrace', script: 'BEGIN {}' });
  });
});
