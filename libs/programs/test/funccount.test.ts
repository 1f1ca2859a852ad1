import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countsFromEntries } from '../src/aggregate';
import { funccount } from '../src/funccount/funccount';
import type { CountsOutputSpec } from '../src/manifest';
import { attachAsPlanned } from './support/attach-plan';
import { buildPrograms } from './support/build';
import { buildFuncWorkload, FUNC_WORKLOAD_COMM, SLEEP_FUNCTION, type FuncWorkload } from './support/func-workload';
import { createScope, loadProgram, trackKernelObjects, type TestScope } from './support/kernel';

const track = trackKernelObjects();
let scope: TestScope;
let workload: FuncWorkload;

beforeAll(() => {
  buildPrograms();
  scope = createScope('funccount');
  workload = buildFuncWorkload();
}, 120_000);

afterAll(() => {
  scope?.remove();
  workload?.remove();
});

describe('funccount in the kernel', () => {
  it('counts every call of the function made in the scope, through the attach plan, and none outside it', async () => {
    const calls = 25;
    const params = { binary: workload.binary, function: SLEEP_FUNCTION };
    const spec = funccount.outputs[0] as CountsOutputSpec;
    const obj = track(loadProgram(funccount, params, scope.filter));
    try {
      expect(attachAsPlanned(obj, funccount, params).map((l) => l.kind)).toEqual(['uprobe']);
      await scope.runInside(workload.binary, [String(calls), '100']);
      await scope.runOutside(workload.binary, [String(calls), '100']);
      const counts = countsFromEntries(spec, obj.map(spec.map).entries());
      expect(counts.entries).toHaveLength(1);
      expect(counts.entries[0]).toMatchObject({ key: { comm: FUNC_WORKLOAD_COMM }, value: calls });
    } finally {
      await obj.close();
    }
  }, 30_000);
});
