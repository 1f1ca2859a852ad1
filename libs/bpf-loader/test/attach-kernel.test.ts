// kprobe/kretprobe, fentry/fexit and LSM. This host's kernel has no kprobes and refuses fentry,
// fexit and LSM programs (EPERM): there each must fail with NotSupportedError naming the feature,
// in agreement with the capability report. Where the kernel allows them (the guest-kernel tests),
// the same tests attach and see the provoked calls.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CapabilityReport, type LoadedObject, type Link, NotSupportedError, openObject, probeCapabilities, u32 } from '../src/index';
import { fixturePath, type GatedProcess, spawnGated, workloadPath } from '../src/testing/index';
import { trackKernelObjects } from './support/kernel-leaks';

const kernel = trackKernelObjects();
const CALLS = 20;

let report: CapabilityReport;
let target: GatedProcess | undefined;
let obj: LoadedObject | undefined;
beforeAll(async () => {
  report = await probeCapabilities();
}, 30_000);
afterEach(async () => {
  await target?.kill();
  await obj?.close();
  target = obj = undefined;
});

type Kind = 'kprobe' | 'kretprobe' | 'fentry' | 'fexit' | 'lsm';
const CASES: { kind: Kind; program: string; workload: string[]; attach: (o: LoadedObject) => Link }[] = [
  { kind: 'kprobe', program: 'ft_kprobe', workload: ['getpriority', String(CALLS)], attach: (o) => o.attachKprobe('ft_kprobe', '__x64_sys_getpriority') },
  { kind: 'kretprobe', program: 'ft_kretprobe', workload: ['getpriority', String(CALLS)], attach: (o) => o.attachKretprobe('ft_kretprobe', '__x64_sys_getpriority') },
  { kind: 'fentry', program: 'ft_fentry', workload: ['getpriority', String(CALLS)], attach: (o) => o.attachFentry('ft_fentry') },
  { kind: 'fexit', program: 'ft_fexit', workload: ['getpriority', String(CALLS)], attach: (o) => o.attachFexit('ft_fexit') },
];

describe.runIf(process.arch === 'x64')('kernel-function attach types', () => {
  for (const c of CASES) {
    it(`${c.kind}: attaches and fires where supported, else NotSupportedError('${c.kind}')`, async () => {
      target = spawnGated(workloadPath(), c.workload);
      const spec = openObject(fixturePath('attach_kernel'));
      spec.setGlobal('target_tgid', u32(target.pid));
      let link: Link;
      try {
        obj = spec.load({ programs: [c.program] });
        kernel.track(obj);
        link = c.attach(obj);
      } catch (err) {
        expect(err).toBeInstanceOf(NotSupportedError);
        expect((err as NotSupportedError).feature).toBe(c.kind);
        expect((err as Error).message).toMatch(new RegExp(`^${c.kind} is not supported: `));
        expect(report.attachTypes[c.kind].supported).toBe(false);
        return;
      }
      expect(report.attachTypes[c.kind].supported).toBe(true);
      expect(link.kind).toBe(c.kind);
      target.release();
      await target.exited;
      expect(obj.readGlobal('hits').readBigUInt64LE()).toBe(BigInt(CALLS));
    });
  }

  it('lsm: attaches where supported, else NotSupportedError("lsm")', async () => {
    const spec = openObject(fixturePath('attach_kernel'));
    spec.setGlobal('target_tgid', u32(process.pid));
    try {
      obj = spec.load({ programs: ['ft_lsm_file_open'] });
      kernel.track(obj);
      obj.attachLsm('ft_lsm_file_open').close();
      expect(report.attachTypes.lsm.supported).toBe(true);
    } catch (err) {
      expect(err).toBeInstanceOf(NotSupportedError);
      expect((err as NotSupportedError).feature).toBe('lsm');
      expect(report.attachTypes.lsm.supported).toBe(false);
    }
  });

  it('setAttachTarget retargets an fentry program before load', () => {
    const spec = openObject(fixturePath('attach_kernel'));
    spec.setAttachTarget('ft_fentry', 'bpf_fentry_test1');
    expect(() => spec.setAttachTarget('ft_kprobe', 'x')).toThrow(TypeError);
    try {
      obj = spec.load({ programs: ['ft_fentry'] });
      kernel.track(obj);
      obj.attachFentry('ft_fentry');
    } catch (err) {
      expect((err as NotSupportedError).feature).toBe('fentry');
    }
  });

  it('the kind of a program must fit the attach call', () => {
    obj = openObject(fixturePath('attach_kernel')).load({ programs: ['ft_kprobe'] });
    kernel.track(obj);
    expect(() => obj!.attachTracepoint('ft_kprobe', 'syscalls', 'sys_enter_getpriority')).toThrow(/is a kprobe program.*tracepoint needs tracepoint/);
  });
});
