import { describe, expect, it } from 'vitest';
import { TargetsField, TargetsV2, normalizeTargets } from './job';
import { MAX_SELECTOR_LENGTH } from './limits';

const problems = (result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
  result.error?.issues.map((issue) => [issue.path.join('.'), issue.message]);

describe('TargetsV2', () => {
  it.each([
    {},
    { hosts: ['web-1', 'h-2'] },
    { selector: 'tier=web,kernel>=6.1' },
    { hosts: ['web-1'], selector: '!canary', sample: '10%', seed: 'job-42', maxHosts: 3 },
    { sample: 5 },
    { sample: '5' },
  ])('accepts %j', (targets) => {
    expect(TargetsV2.parse(targets)).toEqual(targets);
  });

  it.each<[unknown, [string, string][]]>([
    [[], [['', 'targets must be an object']]],
    [{ host: ['a'] }, [['', 'targets has unknown field "host"']]],
    [{ hosts: 'web-1' }, [['hosts', 'targets.hosts must be an array of host ids or names']]],
    [{ hosts: [] }, [['hosts', 'targets.hosts must name at least one host']]],
    [{ hosts: ['a', ''] }, [['hosts.1', 'targets.hosts must be an array of host ids or names']]],
    [{ hosts: Array.from({ length: 1001 }, (_, i) => `h${i}`) }, [['hosts', 'targets.hosts must name at most 1000 hosts']]],
    [{ selector: 3 }, [['selector', 'targets.selector must be a string']]],
    [{ selector: '' }, [['selector', 'targets.selector: must not be empty']]],
    [{ selector: 'zone in a,b' }, [['selector', 'targets.selector: expected "(" after "in", found "a" at position 8']]],
    [{ selector: 'a,'.repeat(MAX_SELECTOR_LENGTH) }, [['selector', `targets.selector must be at most ${MAX_SELECTOR_LENGTH} characters`]]],
    [{ sample: '0%' }, [['sample', 'targets.sample must be a count like 5 or a percent like "10%"']]],
    [{ sample: 0 }, [['sample', 'targets.sample must be a count like 5 or a percent like "10%"']]],
    [{ sample: null }, [['sample', 'targets.sample must be a count like 5 or a percent like "10%"']]],
    [{ seed: '' }, [['seed', 'targets.seed must be a string of 1 to 128 characters']]],
    [{ seed: 7 }, [['seed', 'targets.seed must be a string of 1 to 128 characters']]],
    [{ maxHosts: 0 }, [['maxHosts', 'targets.maxHosts must be a whole number of at least 1']]],
    [{ maxHosts: 2.5 }, [['maxHosts', 'targets.maxHosts must be a whole number of at least 1']]],
  ])('refuses %j', (targets, expected) => {
    expect(problems(TargetsV2.safeParse(targets))).toEqual(expected);
  });
});

describe('normalizeTargets', () => {
  it.each([
    [{ all: true as const }, {}],
    [{ hostIds: ['h-1', 'h-2'] }, { hosts: ['h-1', 'h-2'] }],
    [{ labels: { tier: 'web', zone: 'a' } }, { selector: 'tier=web,zone=a' }],
    [{ labels: { kernel: 'lts' } }, { selector: 'label:kernel=lts' }],
    [{ labels: {} }, {}],
    [{ selector: 'tier=web', sample: '10%' }, { selector: 'tier=web', sample: '10%' }],
  ])('%j → %j', (targets, expected) => {
    expect(normalizeTargets(targets)).toEqual(expected);
  });
});

describe('TargetsField', () => {
  it.each([
    [{ all: true }, {}],
    [{ hostIds: ['h-1'] }, { hosts: ['h-1'] }],
    [{ labels: { tier: 'web' } }, { selector: 'tier=web' }],
    [{ hosts: ['web-1'], sample: 2 }, { hosts: ['web-1'], sample: 2 }],
  ])('reads %j as %j', (targets, expected) => {
    expect(TargetsField.parse(targets)).toEqual(expected);
  });

  it.each<[unknown, [string, string][]]>([
    [{ all: false }, [['', 'targets must be {"all":true}, {"hostIds":[...]} or {"labels":{...}}']]],
    [{ hostIds: [] }, [['hostIds', 'targets.hostIds must name at least one host']]],
    [{ labels: { zone: 'us east' } }, [['', 'targets.labels: invalid label value "us east"']]],
    [{ labels: { 'a b': 'x' } }, [['', 'targets.labels: invalid label key "a b"']]],
    [{ selector: 'tier>1' }, [['selector', 'targets.selector: operator ">" applies only to kernel at position 4']]],
    ['all', [['', 'targets must be an object']]],
  ])('refuses %j', (targets, expected) => {
    expect(problems(TargetsField.safeParse(targets))).toEqual(expected);
  });
});
