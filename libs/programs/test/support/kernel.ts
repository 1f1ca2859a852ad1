// Running catalog programs in the real kernel the way the daemon does (params → rodata → load →
// attach), inside throwaway cgroup scopes, and checking that nothing is left behind afterwards.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LoadedObject, type LoadOptions, openObject } from '@fleettrace/bpf-loader';
import { bpfObjectsHeldBy, linksOfPrograms, programExists } from '@fleettrace/bpf-loader/testing';
import { cgroup2Root, cgroupId, createCgroup, removeCgroup, runInCgroup } from '@fleettrace/infra';
import { afterAll, expect } from 'vitest';
import type { EventRecord, HistOutput } from '@fleettrace/contracts';
import { histFromEntries } from '../../src/aggregate';
import { createRecordDecoder } from '../../src/decode';
import { encodeGlobal } from '../../src/encode';
import type { CatalogProgram, EventsOutputSpec, FilterContext, HistOutputSpec } from '../../src/manifest';

export const WORKLOAD = fileURLToPath(new URL('../../../../infra/build/workload', import.meta.url));
const WORKLOAD_BUILD = fileURLToPath(new URL('../../../../infra/workload/build.sh', import.meta.url));

export function buildWorkload(): void {
  execFileSync('bash', [WORKLOAD_BUILD], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * A host scope as the daemon sees it: `scope` is the filter cgroup, `inside` a cgroup below it (the
 * filter covers a subtree), `outside` a sibling the filter must not see.
 */
export interface TestScope {
  filter: FilterContext;
  inside: string;
  outside: string;
  runInside(command: string, args: string[]): Promise<void>;
  runOutside(command: string, args: string[]): Promise<void>;
  remove(): void;
}

export function createScope(name: string): TestScope {
  const base = `fleettrace-test/programs-${process.pid}-${name}`;
  const scope = createCgroup(`${base}/scope`);
  const inside = createCgroup(`${base}/scope/job`);
  const outside = createCgroup(`${base}/other`);
  return {
    filter: { cgroupId: cgroupId(scope) },
    inside,
    outside,
    runInside: (command, args) => runInCgroup(inside, command, args),
    runOutside: (command, args) => runInCgroup(outside, command, args),
    remove: () => removeCgroup(join(cgroup2Root(), base)),
  };
}

/**
 * The kernel frees a program a moment after its last fd and link go (tp_btf links are released
 * after an RCU grace period), so the check waits a little for that before it calls anything a leak.
 */
async function programsStillLoaded(ids: number[], waitMs = 5000): Promise<number[]> {
  const deadline = Date.now() + waitMs;
  let left = ids.filter(programExists);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = left.filter(programExists);
  }
  return left;
}

/**
 * Records the kernel ids of every program a test file starts and, once the file is done, asserts
 * with bpftool that none of them or their links remain and that no BPF fd is still open.
 */
export function trackKernelObjects(): (obj: LoadedObject) => LoadedObject {
  const ids: number[] = [];
  afterAll(async () => {
    expect(ids.length, 'programs started').toBeGreaterThan(0);
    // Fds first: an fd still open here is a leak at once, whatever the kernel does next.
    expect(bpfObjectsHeldBy('self'), 'BPF fds still open').toEqual({ progs: [], maps: [], links: [] });
    expect(await programsStillLoaded(ids), 'programs left in the kernel').toEqual([]);
    expect(linksOfPrograms(ids), 'links left in the kernel').toEqual([]);
  });
  return (obj) => {
    ids.push(...obj.programInfo().map((p) => p.id));
    return obj;
  };
}

/** Loads a catalog program with its params and the scope's filter, as the daemon's runner does. */
export function loadProgram(program: CatalogProgram, params: unknown, filter: FilterContext, options: LoadOptions = {}): LoadedObject {
  const spec = openObject(program.objectPath);
  for (const [name, value] of Object.entries(program.globals(program.params.parse(params), filter))) {
    spec.setGlobal(name, encodeGlobal(value));
  }
  return spec.load(options);
}

/**
 * Runs an events program around `workload` and returns every record it emitted, decoded with the
 * manifest's own layout. Records are returned after close(), which does the ring buffer's last drain.
 */
export async function collectEvents(
  track: (obj: LoadedObject) => LoadedObject,
  program: CatalogProgram,
  params: unknown,
  filter: FilterContext,
  workload: () => Promise<void>,
): Promise<EventRecord[]> {
  const output = program.outputs.find((o): o is EventsOutputSpec => o.kind === 'events');
  if (!output) throw new Error(`${program.name} has no events output`);
  const decode = createRecordDecoder(output.layout);
  const events: EventRecord[] = [];
  const obj = track(loadProgram(program, params, filter));
  try {
    obj.ringBuffer(output.ringBuffer, (batch) => batch.forEach((buf, offset) => events.push(decode(buf, offset))));
    obj.attachAll();
    await workload();
  } finally {
    await obj.close();
  }
  return events;
}

/**
 * Runs a histogram program and reads its histogram after each of `steps`, so a test can compare
 * what one step (say, outside the scope) added with another's.
 */
export async function histogramsAfterEach(
  track: (obj: LoadedObject) => LoadedObject,
  program: CatalogProgram,
  params: unknown,
  filter: FilterContext,
  steps: Array<() => Promise<void>>,
): Promise<HistOutput[]> {
  const spec = program.outputs.find((o): o is HistOutputSpec => o.kind === 'hist');
  if (!spec) throw new Error(`${program.name} has no histogram output`);
  const obj = track(loadProgram(program, params, filter));
  try {
    obj.attachAll();
    const hists: HistOutput[] = [];
    for (const step of steps) {
      await step();
      hists.push(histFromEntries(spec, obj.map(spec.map).entries()));
    }
    return hists;
  } finally {
    await obj.close();
  }
}

/** How many samples a histogram holds. */
export function samples(hist: HistOutput): number {
  return hist.buckets.reduce((sum, b) => sum + b.count, 0);
}
