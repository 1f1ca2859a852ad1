import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  SelectorSyntaxError,
  formatSelector,
  isLabelKey,
  matchesSelector,
  parseSelector,
  selectorMismatch,
  type ParsedSelector,
  type SelectableHost,
  type SelectorTerm,
} from './selector';

function syntaxErrorOf(text: string): SelectorSyntaxError {
  try {
    parseSelector(text);
  } catch (error) {
    if (error instanceof SelectorSyntaxError) return error;
    throw error;
  }
  throw new Error(`${JSON.stringify(text)} parsed`);
}

describe('parseSelector and formatSelector', () => {
  it.each<[string, SelectorTerm[], string]>([
    ['tier=web', [{ field: 'label', key: 'tier', op: '=', values: ['web'] }], 'tier=web'],
    ['tier==web', [{ field: 'label', key: 'tier', op: '=', values: ['web'] }], 'tier=web'],
    ['env!=prod', [{ field: 'label', key: 'env', op: '!=', values: ['prod'] }], 'env!=prod'],
    ['zone in (a,b)', [{ field: 'label', key: 'zone', op: 'in', values: ['a', 'b'] }], 'zone in (a,b)'],
    [' zone  notin(a , b ) ', [{ field: 'label', key: 'zone', op: 'notin', values: ['a', 'b'] }], 'zone notin (a,b)'],
    ['canary', [{ field: 'label', key: 'canary', op: 'exists' }], 'canary'],
    ['! canary', [{ field: 'label', key: 'canary', op: 'absent' }], '!canary'],
    ['tier=', [{ field: 'label', key: 'tier', op: '=', values: [''] }], 'tier='],
    ['tier!=,x', [{ field: 'label', key: 'tier', op: '!=', values: [''] }, { field: 'label', key: 'x', op: 'exists' }], 'tier!=,x'],
    ['example.com/role=db', [{ field: 'label', key: 'example.com/role', op: '=', values: ['db'] }], 'example.com/role=db'],
    ['in=x', [{ field: 'label', key: 'in', op: '=', values: ['x'] }], 'in=x'],
    ['label:kernel=lts', [{ field: 'label', key: 'kernel', op: '=', values: ['lts'] }], 'label:kernel=lts'],
    ['!label:host', [{ field: 'label', key: 'host', op: 'absent' }], '!label:host'],
    ['label:tier=web', [{ field: 'label', key: 'tier', op: '=', values: ['web'] }], 'tier=web'],
    ['host=web-1', [{ field: 'host', op: '=', values: ['web-1'] }], 'host=web-1'],
    ['host notin (a,b)', [{ field: 'host', op: 'notin', values: ['a', 'b'] }], 'host notin (a,b)'],
    ['arch in (x86_64,aarch64)', [{ field: 'arch', op: 'in', values: ['x86_64', 'aarch64'] }], 'arch in (x86_64,aarch64)'],
    ['kernel>=6.1', [{ field: 'kernel', op: '>=', values: ['6.1'] }], 'kernel>=6.1'],
    ['kernel < 6.10.3', [{ field: 'kernel', op: '<', values: ['6.10.3'] }], 'kernel<6.10.3'],
    ['kernel==5.15', [{ field: 'kernel', op: '=', values: ['5.15'] }], 'kernel=5.15'],
    ['kernel in (6.1,6.8)', [{ field: 'kernel', op: 'in', values: ['6.1', '6.8'] }], 'kernel in (6.1,6.8)'],
    ['a,a', [{ field: 'label', key: 'a', op: 'exists' }, { field: 'label', key: 'a', op: 'exists' }], 'a,a'],
    [
      'tier=web,zone in (a,b),!canary,env!=prod,kernel>=6.1,arch=x86_64',
      [
        { field: 'label', key: 'tier', op: '=', values: ['web'] },
        { field: 'label', key: 'zone', op: 'in', values: ['a', 'b'] },
        { field: 'label', key: 'canary', op: 'absent' },
        { field: 'label', key: 'env', op: '!=', values: ['prod'] },
        { field: 'kernel', op: '>=', values: ['6.1'] },
        { field: 'arch', op: '=', values: ['x86_64'] },
      ],
      'tier=web,zone in (a,b),!canary,env!=prod,kernel>=6.1,arch=x86_64',
    ],
  ])('%j', (text, terms, canonical) => {
    const parsed = parseSelector(text);
    expect(parsed).toEqual({ terms });
    expect(formatSelector(parsed)).toBe(canonical);
    expect(parseSelector(canonical)).toEqual(parsed);
  });

  it.each<[string, string, number, string]>([
    ['', 'selector: must not be empty', 0, ''],
    ['  ', 'selector: must not be empty', 0, ''],
    ['zone in a,b', 'selector: expected "(" after "in", found "a" at position 8', 8, 'a'],
    ['tier=>web', 'selector: unknown operator "=>" at position 4', 4, '=>'],
    ['!!canary', 'selector: unknown operator "!!" at position 0', 0, '!!'],
    ['kernel>=six', 'selector: kernel version "six" is not a version like 6.1 at position 8', 8, 'six'],
    ['kernel=6.1.0-13-amd64', 'selector: kernel version "6.1.0-13-amd64" is not a version like 6.1 at position 7', 7, '6.1.0-13-amd64'],
    ['kernel in (6.1,6)', 'selector: kernel version "6" is not a version like 6.1 at position 15', 15, '6'],
    ['a,,b', 'selector: expected a key, found "," at position 2', 2, ','],
    ['a,', 'selector: expected a key, found the end at position 2', 2, ''],
    ['=a', 'selector: expected a key, found "=" at position 0', 0, '='],
    ['(a)', 'selector: expected a key, found "(" at position 0', 0, '('],
    ['! =a', 'selector: expected a label key after "!", found "=" at position 2', 2, '='],
    ['kernel', 'selector: "kernel" is a field, not a label (write label:kernel) at position 0', 0, 'kernel'],
    ['!host', 'selector: "host" is a field, not a label (write label:host) at position 1', 1, 'host'],
    ['tier>3', 'selector: operator ">" applies only to kernel at position 4', 4, '>'],
    ['host<=b', 'selector: operator "<=" applies only to kernel at position 4', 4, '<='],
    ['label:kernel>6.1', 'selector: operator ">" applies only to kernel at position 12', 12, '>'],
    ['a b', 'selector: expected an operator after "a", found "b" at position 2', 2, 'b'],
    ['a (b)', 'selector: expected an operator after "a", found "(" at position 2', 2, '('],
    ['a=b c', 'selector: expected ",", found "c" at position 4', 4, 'c'],
    ['a=b)', 'selector: expected ",", found ")" at position 3', 3, ')'],
    ['a in ()', 'selector: expected a value, found ")" at position 6', 6, ')'],
    ['a in (x,)', 'selector: expected a value, found ")" at position 8', 8, ')'],
    ['a in (x,', 'selector: expected a value, found the end at position 8', 8, ''],
    ['a in (x y)', 'selector: expected "," or ")", found "y" at position 8', 8, 'y'],
    ['a=(b)', 'selector: expected a value after "=", found "(" at position 2', 2, '('],
    ['host=', 'selector: expected a value after "=", found the end at position 5', 5, ''],
    ['arch!=,a', 'selector: expected a value after "!=", found "," at position 6', 6, ','],
    ['a=b/c', 'selector: invalid label value "b/c" at position 2', 2, 'b/c'],
    [`a=${'v'.repeat(64)}`, `selector: invalid label value "${'v'.repeat(64)}" at position 2`, 2, 'v'.repeat(64)],
    ['host in (a,b:c)', 'selector: invalid host "b:c" at position 11', 11, 'b:c'],
    ['arch=x/y', 'selector: invalid arch "x/y" at position 5', 5, 'x/y'],
    ['-a=b', 'selector: invalid label key "-a" at position 0', 0, '-a'],
    ['Example.com/a=b', 'selector: invalid label key "Example.com/a" at position 0', 0, 'Example.com/a'],
    ['x:y', 'selector: invalid label key "x:y" at position 0', 0, 'x:y'],
    ['label:=x', 'selector: invalid label key "" at position 6', 6, ''],
    // Left to right: the key is wrong before the list is unfinished.
    ['-a in (x', 'selector: invalid label key "-a" at position 0', 0, '-a'],
    ['tier=w@b', 'selector: unexpected character "@" at position 6', 6, '@'],
    ['x=😀', 'selector: unexpected character "😀" at position 2', 2, '😀'],
  ])('%j fails: %s', (text, message, position, part) => {
    const error = syntaxErrorOf(text);
    expect(error.message).toBe(message);
    expect(error.problem).toBe(message.slice('selector: '.length));
    expect([error.position, error.part]).toEqual([position, part]);
  });

  it('follows Kubernetes on label keys', () => {
    expect(isLabelKey('app.kubernetes.io/name')).toBe(true);
    expect(isLabelKey('a'.repeat(63))).toBe(true);
    expect(isLabelKey('a'.repeat(64))).toBe(false);
    expect(isLabelKey(`${'a'.repeat(254)}/x`)).toBe(false);
    expect(isLabelKey('a_b.c-d')).toBe(true);
    expect(isLabelKey('a_')).toBe(false);
    expect(isLabelKey('/a')).toBe(false);
    expect(isLabelKey('a/b/c')).toBe(false);
  });
});

const host = (overrides: Partial<SelectableHost> = {}): SelectableHost => ({
  id: 'h-1',
  name: 'web-1',
  labels: { tier: 'web', zone: 'a' },
  kernelRelease: '6.1.0-13-amd64',
  arch: 'x64',
  ...overrides,
});

describe('matchesSelector', () => {
  it.each<[string, Partial<SelectableHost>, boolean]>([
    ['tier=web', {}, true],
    ['tier=db', {}, false],
    ['tier=web,zone=a', {}, true],
    ['tier=web,zone=b', {}, false],
    ['role=web', {}, false],
    ['tier!=db', {}, true],
    ['tier!=web', {}, false],
    ['role!=db', {}, true],
    ['zone in (a,b)', {}, true],
    ['zone in (b,c)', {}, false],
    ['role in (a)', {}, false],
    ['zone notin (b)', {}, true],
    ['zone notin (a,b)', {}, false],
    ['role notin (a)', {}, true],
    ['tier', {}, true],
    ['canary', {}, false],
    ['!canary', {}, true],
    ['!tier', {}, false],
    ['constructor', {}, false],
    ['flag=', { labels: { flag: '' } }, true],
    ['flag', { labels: { flag: '' } }, true],
    ['flag!=', { labels: { flag: '' } }, false],
    ['label:kernel=lts', { labels: { kernel: 'lts' } }, true],
    ['label:kernel=lts', {}, false],
    ['host=h-1', {}, true],
    ['host=web-1', {}, true],
    ['host=web-2', {}, false],
    ['host!=web-1', {}, false],
    ['host!=h-1', {}, false],
    ['host!=web-2', {}, true],
    ['host in (web-2,h-1)', {}, true],
    ['host notin (web-2,web-1)', {}, false],
    ['arch=x86_64', {}, true],
    ['arch=amd64', {}, true],
    ['arch=x64', {}, true],
    ['arch=aarch64', { arch: 'arm64' }, true],
    ['arch=arm64', { arch: 'aarch64' }, true],
    ['arch!=x86_64', { arch: 'arm64' }, true],
    ['arch in (aarch64,riscv64)', {}, false],
    ['arch notin (aarch64)', {}, true],
    ['arch=riscv64', { arch: 'riscv64' }, true],
    // A distribution suffix does not make 6.1.0-13 newer than 6.1.
    ['kernel=6.1', {}, true],
    ['kernel=6.1.0', {}, true],
    ['kernel>=6.1', {}, true],
    ['kernel<=6.1', {}, true],
    ['kernel>6.1', {}, false],
    ['kernel<6.1', {}, false],
    ['kernel!=6.1', {}, false],
    ['kernel=6.1', { kernelRelease: '6.1.5' }, false],
    ['kernel>6.1', { kernelRelease: '6.1.5' }, true],
    ['kernel>=6.1,kernel<6.2', { kernelRelease: '6.1.112-1' }, true],
    ['kernel>6.9', { kernelRelease: '6.10.0' }, true],
    ['kernel<6.10', { kernelRelease: '6.9.12' }, true],
    ['kernel>=5.8', { kernelRelease: '5.15.0-91-generic' }, true],
    ['kernel in (5.15,6.1)', {}, true],
    ['kernel notin (5.15,6.1)', {}, false],
    ['kernel notin (5.15,6.8)', {}, true],
    // A release with no version matches no kernel term, not even a negative one.
    ['kernel>=6.1', { kernelRelease: 'custom' }, false],
    ['kernel<6.1', { kernelRelease: 'custom' }, false],
    ['kernel!=6.1', { kernelRelease: 'custom' }, false],
    ['kernel notin (6.1)', { kernelRelease: '' }, false],
  ])('%s on %j: %s', (selector, overrides, expected) => {
    expect(matchesSelector(parseSelector(selector), host(overrides))).toBe(expected);
  });
});

describe('selectorMismatch', () => {
  it.each<[string, Partial<SelectableHost>, string | undefined]>([
    ['tier=web,kernel>=6.1', {}, undefined],
    ['tier=web,tier=db', {}, 'tier=db (label tier is "web")'],
    ['role in (db)', {}, 'role in (db) (no label role)'],
    ['!tier', {}, '!tier (label tier is "web")'],
    ['label:arch', {}, 'label:arch (no label arch)'],
    ['host==web-2', {}, 'host=web-2 (host is "h-1", named "web-1")'],
    ['arch=aarch64', {}, 'arch=aarch64 (arch is x64)'],
    ['kernel>=6.8', {}, 'kernel>=6.8 (kernel is 6.1.0-13-amd64)'],
    ['kernel>=6.8', { kernelRelease: 'custom' }, 'kernel>=6.8 (kernel "custom" has no version)'],
  ])('%s on %j: %s', (selector, overrides, expected) => {
    expect(selectorMismatch(parseSelector(selector), host(overrides))).toBe(expected);
  });
});

const labelName = fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9_.-]{0,8}[A-Za-z0-9])?$/);
const dnsPrefix = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?){0,2}$/);
const labelKey = fc.oneof(
  fc.constantFrom('host', 'kernel', 'arch', 'label', 'in', 'notin'),
  labelName,
  fc.tuple(dnsPrefix, labelName).map(([prefix, name]) => `${prefix}/${name}`),
);
const word = fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/);
const someWords = fc.array(word, { minLength: 1, maxLength: 4 });
const kernelVersion = fc
  .tuple(fc.nat(9), fc.nat(20), fc.option(fc.nat(300), { nil: undefined }))
  .map(([major, minor, patch]) => (patch === undefined ? `${major}.${minor}` : `${major}.${minor}.${patch}`));
const membership = fc.constantFrom('=', '!=', 'in', 'notin');
const withValues = <T extends object>(op: string, one: fc.Arbitrary<string>, many: fc.Arbitrary<string[]>, rest: T) =>
  (op === 'in' || op === 'notin' ? many : one.map((value) => [value])).map((values) => ({ ...rest, op, values }));

const term: fc.Arbitrary<SelectorTerm> = fc.oneof(
  fc.tuple(labelKey, fc.constantFrom('exists', 'absent')).map(([key, op]) => ({ field: 'label', key, op }) as SelectorTerm),
  fc
    .tuple(labelKey, membership)
    .chain(([key, op]) => withValues(op, fc.oneof(word, fc.constant('')), someWords, { field: 'label', key }) as fc.Arbitrary<SelectorTerm>),
  fc
    .tuple(fc.constantFrom('host', 'arch'), membership)
    .chain(([field, op]) => withValues(op, word, someWords, { field }) as fc.Arbitrary<SelectorTerm>),
  fc
    .constantFrom('=', '!=', '<', '<=', '>', '>=', 'in', 'notin')
    .chain((op) => withValues(op, kernelVersion, fc.array(kernelVersion, { minLength: 1, maxLength: 3 }), { field: 'kernel' }) as fc.Arbitrary<SelectorTerm>),
);
const selector: fc.Arbitrary<ParsedSelector> = fc.array(term, { minLength: 1, maxLength: 6 }).map((terms) => ({ terms }));

function parsesOrFailsCleanly(text: string): void {
  let parsed: ParsedSelector;
  try {
    parsed = parseSelector(text);
  } catch (error) {
    expect(error).toBeInstanceOf(SelectorSyntaxError);
    const { position, part, message } = error as SelectorSyntaxError;
    expect(position).toBeGreaterThanOrEqual(0);
    expect(position).toBeLessThanOrEqual(text.length);
    expect(text.startsWith(part, position) || part === '').toBe(true);
    expect(message.length).toBeLessThan(200 + part.length);
    return;
  }
  // Whatever parses has a canonical text that parses back to the same terms.
  expect(parseSelector(formatSelector(parsed))).toEqual(parsed);
}

describe('selector properties', () => {
  it('parses the canonical text of any selector back to the same terms', () => {
    fc.assert(
      fc.property(selector, (parsed) => {
        expect(parseSelector(formatSelector(parsed))).toEqual(parsed);
      }),
      { numRuns: 500 },
    );
  });

  it('throws nothing but SelectorSyntaxError on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), parsesOrFailsCleanly), { numRuns: 500 });
  });

  it('throws nothing but SelectorSyntaxError on text made of the grammar\'s own pieces', () => {
    const piece = fc.constantFrom('tier', 'kernel', 'host', 'arch', 'label:', 'in', 'notin', '6.1', 'a/b', '=', '==', '!', '!=', '<', '>=', '(', ')', ',', ' ', '');
    fc.assert(fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => parsesOrFailsCleanly(pieces.join(''))), { numRuns: 2000 });
  });
});
