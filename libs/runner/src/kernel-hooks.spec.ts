import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelHooks } from './kernel-hooks';

describe('kernelHooks', () => {
  const root = mkdtempSync(join(tmpdir(), 'fleettrace-tracefs-'));
  mkdirSync(join(root, 'tracing/events/sched/sched_switch'), { recursive: true });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finds a tracepoint by its events/<category>/<name> directory under the first tracefs mounted', () => {
    const hooks = kernelHooks({ tracefsRoots: [join(root, 'not-mounted'), join(root, 'tracing')], vmlinuxBtf: join(root, 'vmlinux') });
    expect(hooks.hasTracepoint('sched:sched_switch')).toBe(true);
    expect(hooks.hasTracepoint('sched:sched_wakeup')).toBe(false);
    expect(hooks.hasTracepoint('nosuch:sched_switch')).toBe(false);
  });

  it('finds nothing without tracefs, and takes no path out of events/', () => {
    expect(kernelHooks({ tracefsRoots: [join(root, 'not-mounted')], vmlinuxBtf: '' }).hasTracepoint('sched:sched_switch')).toBe(false);
    const hooks = kernelHooks({ tracefsRoots: [join(root, 'tracing')], vmlinuxBtf: '' });
    expect(hooks.hasTracepoint('..:events')).toBe(false);
    expect(hooks.hasTracepoint('sched/sched_switch')).toBe(false);
    expect(hooks.hasTracepoint('sched:')).toBe(false);
  });

  it('cannot tell about raw tracepoints without kernel BTF', () => {
    expect(kernelHooks({ tracefsRoots: [], vmlinuxBtf: join(root, 'vmlinux') }).hasRawTracepoint('sched_switch')).toBeUndefined();
  });
});
