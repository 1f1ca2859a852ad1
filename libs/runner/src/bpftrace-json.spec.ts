import { describe, expect, it } from 'vitest';
import { JsonSyntaxError, parseOrderedJson, splitKey } from './bpftrace-json';

describe('parseOrderedJson', () => {
  it('keeps object keys in their order, numbers as written, and reads strings as JSON does', () => {
    expect(parseOrderedJson('{"30": 1, "2": 18446744073709551615, "s": "a\\n\\u0001\\"", "t": [1.5e3, true, null, {}], "u": []}')).toEqual({
      type: 'object',
      entries: [
        ['30', { type: 'number', raw: '1' }],
        ['2', { type: 'number', raw: '18446744073709551615' }],
        ['s', { type: 'string', value: 'a\n\u0001"' }],
        ['t', { type: 'array', items: [{ type: 'number', raw: '1.5e3' }, { type: 'literal', value: true }, { type: 'literal', value: null }, { type: 'object', entries: [] }] }],
        ['u', { type: 'array', items: [] }],
      ],
    });
  });

  it.each([
    ['{"a": 1', 'expected "," at offset 7'],
    ['{"a" 1}', 'expected ":" at offset 5'],
    ['[1] 2', 'unexpected text after the value at offset 4'],
    ['0x7f', 'unexpected text after the value at offset 1'],
    ['"abc', 'unterminated string at offset 0'],
  ])('rejects %s: %s', (text, message) => {
    expect(() => parseOrderedJson(text)).toThrow(new JsonSyntaxError(message));
  });
});

describe('splitKey', () => {
  it('splits a multi-key on its commas, keeping stacks whole', () => {
    expect(splitKey('a,1')).toEqual(['a', '1']);
    expect(splitKey('workload,\n a\n b\n')).toEqual(['workload', '\n a\n b\n']);
    expect(splitKey('\n a\n,,comm')).toEqual(['\n a\n', '', 'comm']);
  });
});
