import { describe, expect, it } from 'vitest';
import { checkProgramPolicy, DEFAULT_PROGRAM_POLICY, ProgramPolicy, programKindOf, resolveProgramPolicy, type ProgramObjectFacts } from './program-policy';

const clean: ProgramObjectFacts = { programs: [{ name: 'p', section: 'kprobe/do_sys_openat2', type: 'kprobe' }], helperCalls: [{ helperId: 1, section: 'kprobe/do_sys_openat2' }], pinnedMaps: [], legacyMapSections: [] };

describe('program policy', () => {
  it('classifies SEC() strings by their prefix, not by a look-alike', () => {
    expect(programKindOf('usdt/libc:probe')).toBe('uprobe');
    expect(programKindOf('uretprobe.s/bin:f')).toBe('uprobe');
    expect(programKindOf('raw_tp/sched_switch')).toBe('raw_tp');
    expect(programKindOf('fexit/do_exit')).toBe('fentry');
    expect(programKindOf('fmod_ret/security_file_open')).toBe('fmod_ret');
    expect(programKindOf('kprobe_like/x')).toBeUndefined();
    expect(programKindOf('iter/task')).toBeUndefined();
  });

  it('resolves kinds from scopes; admin holds every scope; helpers stay denied whatever the scopes', () => {
    expect(resolveProgramPolicy(['jobs:c']).programKinds).toEqual(['kprobe', 'uprobe', 'tracepoint', 'raw_tp', 'tp_btf', 'fentry', 'perf_event']);
    expect(resolveProgramPolicy(['jobs:c', 'jobs:c:network']).programKinds).toContain('xdp');
    expect(resolveProgramPolicy(['jobs:c', 'jobs:c:network']).programKinds).not.toContain('lsm');
    expect(resolveProgramPolicy(['admin']).programKinds).toEqual(expect.arrayContaining(['xdp', 'tc', 'lsm', 'struct_ops', 'fmod_ret']));
    expect(resolveProgramPolicy(['admin']).deniedHelpers).toEqual(DEFAULT_PROGRAM_POLICY.deniedHelpers);
    expect(DEFAULT_PROGRAM_POLICY.deniedHelpers).toHaveLength(6);
  });

  it('lets a tracing object through and names the first thing it refuses', () => {
    expect(checkProgramPolicy(clean, DEFAULT_PROGRAM_POLICY)).toBeUndefined();
    expect(checkProgramPolicy({ ...clean, helperCalls: [{ helperId: 58, section: '.text' }] }, DEFAULT_PROGRAM_POLICY)).toBe(
      'program uses helper bpf_override_return, which the policy denies',
    );
    expect(checkProgramPolicy({ ...clean, pinnedMaps: ['m'] }, DEFAULT_PROGRAM_POLICY)).toBe('map m is declared with pinning, which the policy denies');
    expect(checkProgramPolicy({ ...clean, legacyMapSections: ['maps'] }, DEFAULT_PROGRAM_POLICY)).toMatch(/^section maps holds legacy map definitions/);
  });

  it('refuses a policy naming a helper it does not know', () => {
    expect(ProgramPolicy.safeParse({ programKinds: ['kprobe'], deniedHelpers: ['bpf_trace_printk'] }).success).toBe(false);
  });
});
