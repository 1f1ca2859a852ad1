import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseKernelVersion } from '@fleettrace/contracts';
import { catalog, getProgram, programNames } from './catalog';
import { fieldSize } from './decode';
import { encodeGlobal } from './encode';
import type { RecordLayout } from './layout';
import { minimalParams } from '../test/support/required-params';

const BUILD_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../build');
const SRC_DIR = dirname(fileURLToPath(import.meta.url));

function expectNoOverlap(layout: RecordLayout): void {
  const ranges = layout.fields.map((f) => [f.offset, f.offset + fieldSize(f)]).sort((a, b) => a[0] - b[0]);
  expect(ranges.at(-1)![1]).toBeLessThanOrEqual(layout.size);
  for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBeGreaterThanOrEqual(ranges[i - 1][1]);
}

describe('catalog', () => {
  it('registers every program directory, and names each program after its directory and object', () => {
    const directories = readdirSync(SRC_DIR).filter((name) => existsSync(resolve(SRC_DIR, name, `${name}.bpf.c`)));
    expect([...programNames()].sort()).toEqual(directories.sort());
    expect(programNames()).toEqual(expect.arrayContaining(['execsnoop', 'syscount', 'runqlat']));
    for (const [name, program] of Object.entries(catalog)) {
      expect(program.name).toBe(name);
      expect(existsSync(resolve(SRC_DIR, name, `${name}.bpf.c`))).toBe(true);
      expect(program.objectPath).toBe(resolve(BUILD_DIR, `${name}.bpf.o`));
      expect(basename(program.objectPath)).toBe(`${name}.bpf.o`);
    }
  });

  it('finds programs by name only', () => {
    expect(getProgram('runqlat')).toBe(catalog.runqlat);
    expect(getProgram('nope')).toBeUndefined();
    expect(getProgram('toString')).toBeUndefined();
  });

  it('declares outputs whose layouts decode and whose key fields exist', () => {
    for (const program of Object.values(catalog)) {
      expect(new Set(program.outputs.map((o) => o.name)).size).toBe(program.outputs.length);
      for (const output of program.outputs) {
        if (output.kind === 'events') {
          expectNoOverlap(output.layout);
          expect(output.layout.fields.map((f) => f.name)).toContain(output.timeField);
        }
        if (output.kind === 'counts') {
          expectNoOverlap(output.keyLayout);
          const names = output.keyLayout.fields.map((f) => f.name);
          for (const field of output.keyFields) expect(names).toContain(field);
        }
      }
    }
  });

  it('accepts empty params (or just the required ones) with defaults and turns them into encodable globals', () => {
    for (const [name, program] of Object.entries(catalog)) {
      const params = program.params.parse(minimalParams(name));
      const globals = program.globals(params, { cgroupId: 1234n });
      // Packets belong to no task: xdpcount has no task filter to scope.
      if (name !== 'xdpcount') expect(globals.filter_cgroup_id).toEqual({ type: 'u64', value: 1234n });
      for (const value of Object.values(globals)) expect(() => encodeGlobal(value)).not.toThrow();
    }
  });

  it('rejects unknown params', () => {
    for (const program of Object.values(catalog)) {
      const result = program.params.safeParse({ pidd: 1 });
      expect(result.success).toBe(false);
    }
  });
});

describe('requirements', () => {
  // libs/programs/test/objects.test.ts checks hooks, attach and map types against the compiled objects.
  it.each(Object.values(catalog))('$name declares its minimum kernel, BTF, map types and fallbacks', (program) => {
    const { minKernel, btf, mapTypes } = program.requires;
    expect(minKernel && parseKernelVersion(minKernel), 'minKernel').toBeDefined();
    // Every object is CO-RE: even xdpcount's packet headers are relocated against the kernel's types.
    expect(btf).toBe(true);
    expect(mapTypes?.length).toBeGreaterThan(0);
    expect(program.fallbacks, 'fallbacks ([] for none)').toBeInstanceOf(Array);
  });

  it.each(Object.values(catalog))('$name names the hooks its attach types need, and only those', (program) => {
    const { attachTypes, tracepoints = [], rawTracepoints = [] } = program.requires;
    expect(tracepoints.length > 0).toBe(attachTypes.includes('tracepoint'));
    expect(rawTracepoints.length > 0).toBe(attachTypes.includes('tp_btf') || attachTypes.includes('raw_tp'));
    for (const id of tracepoints) expect(id).toMatch(/^[a-z0-9_]+:[a-z0-9_]+$/);
    for (const name of rawTracepoints) expect(name).toMatch(/^[a-z0-9_]+$/);
  });
});

describe('attach plans', () => {
  it('name only programs the object has, with params deciding where', () => {
    expect(catalog.profile.attach!(catalog.profile.params.parse({}))).toEqual([{ program: 'do_sample', kind: 'perf_event', frequency: 49 }]);
    expect(catalog.xdpcount.attach!(catalog.xdpcount.params.parse({ interface: 'veth0' }))).toEqual([
      { program: 'xdp_count', kind: 'xdp', interface: 'veth0' },
    ]);
    expect(catalog.funclatency.attach!(catalog.funclatency.params.parse({ binary: '/bin/x', function: 'f', pid: 7 }))).toEqual([
      { program: 'func_entry', kind: 'uprobe', binary: '/bin/x', symbol: 'f', pid: 7 },
      { program: 'func_exit', kind: 'uprobe', binary: '/bin/x', symbol: 'f', pid: 7, retprobe: true },
    ]);
  });

  it('require the params that say where to attach', () => {
    const message = (name: string, params: unknown) => {
      const result = catalog[name].params.safeParse(params);
      return result.success ? undefined : result.error.issues[0].message;
    };
    expect(message('xdpcount', {})).toBe('interface must be a network interface name');
    expect(message('xdpcount', { interface: 'a/b' })).toMatch(/^interface must be a network interface name of/);
    expect(message('funccount', { function: 'f' })).toMatch(/^binary must be a string/);
    expect(message('funccount', { binary: '/bin/x', function: '' })).toBe('function must not be empty');
    expect(message('profile', { frequency: 0 })).toBe('frequency must be at least 1');
  });

  it('take every uprobe binary from a declared binary param, so the API holds it to the binary rule', () => {
    for (const name of programNames()) {
      const program = catalog[name];
      if (!program.attach) continue;
      const marker = '/usr/lib/fleettrace-binary-param-marker';
      const params: Record<string, unknown> = { ...minimalParams(name) };
      for (const param of program.binaryParams ?? []) params[param] = marker;
      for (const step of program.attach(program.params.parse(params))) {
        if (step.kind === 'uprobe') expect(step.binary, `${name}: ${step.program}`).toBe(marker);
      }
    }
  });
});

describe('execsnoop params', () => {
  const program = catalog.execsnoop;

  it('default to every exec, failed or not', () => {
    expect(program.params.parse({})).toEqual({ commMatch: 'exact', failedOnly: false });
    const globals = program.globals(program.params.parse({ failedOnly: true, comm: 'curl', pid: 5 }), { cgroupId: null });
    expect(globals.failed_only).toEqual({ type: 'bool', value: true });
    expect(globals.filter_tgid).toEqual({ type: 'u32', value: 5 });
    expect(globals.filter_comm).toEqual({ type: { char: 16 }, value: 'curl' });
  });

  it('rejects a non-boolean failedOnly', () => {
    const result = program.params.safeParse({ failedOnly: 'yes' });
    expect(result.success ? undefined : result.error.issues[0].message).toBe('failedOnly must be a boolean');
  });
});
