import { describe, expect, it } from 'vitest';
import { csvField, csvLines, ndjsonLines } from './csv';
import { selectColumns } from './dataset';

describe('--fields', () => {
  const defaults = ['host', 'state', 'events'];
  const available = [...defaults, 'error', 'lost'];

  it('shows the named fields in order, or the defaults without the -dropped ones', () => {
    expect(selectColumns(defaults, available, undefined)).toEqual(defaults);
    expect(selectColumns(defaults, available, 'lost,host')).toEqual(['lost', 'host']);
    expect(selectColumns(defaults, available, '-state')).toEqual(['host', 'events']);
  });

  it('refuses a field no row has, listing those there are, and a mix of both forms', () => {
    expect(() => selectColumns(defaults, available, 'host,nope')).toThrow('--fields: no field "nope" (fields: host, state, events, error, lost)');
    expect(() => selectColumns(defaults, available, 'host,-state')).toThrow('--fields either names the fields to show or drops some with -name, not both');
    expect(() => selectColumns(defaults, available, ',')).toThrow('--fields needs at least one field name');
  });
});

describe('csv and ndjson', () => {
  it('quotes CSV fields that need it (RFC 4180) and leaves the rest bare', () => {
    expect(['a', 'a,b', 'say "hi"', 'two\nlines', ' edge', 42, null, { k: 1 }].map(csvField)).toEqual([
      'a',
      '"a,b"',
      '"say ""hi"""',
      '"two\nlines"',
      '" edge"',
      '42',
      '',
      '"{""k"":1}"',
    ]);
  });

  it('prints a header and a line per row, and NDJSON rows with only the chosen columns', () => {
    const dataset = { columns: ['host', 'value'], rows: [{ host: 'a', value: 1, extra: true }, { host: 'b' }] };
    expect(csvLines(dataset)).toEqual(['host,value', 'a,1', 'b,']);
    expect(ndjsonLines(dataset)).toEqual(['{"host":"a","value":1}', '{"host":"b"}']);
  });
});
