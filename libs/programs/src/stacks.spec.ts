import { describe, expect, it } from 'vitest';
import { offcputime } from './offcputime/offcputime';
import { profile } from './profile/profile';
import type { CountsOutputSpec } from './manifest';
import { stackRootFields } from './stacks';
import { syscount } from './syscount/syscount';

describe('stackRootFields', () => {
  it('roots folded stacks at the shown key fields other than the pid and the stack ids', () => {
    expect(stackRootFields(profile.outputs[0] as CountsOutputSpec)).toEqual(['comm']);
    expect(stackRootFields(offcputime.outputs[0] as CountsOutputSpec)).toEqual(['comm']);
  });

  it('is empty for counts without stacks', () => {
    expect(stackRootFields(syscount.outputs[0] as CountsOutputSpec)).toEqual([]);
  });
});
