import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Record as RecordSchema } from '@fleettrace/contracts';
import { checkedRecords, parseResultMessage, validText } from './result-message.dto';

const runId = '3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a4b';

describe('parseResultMessage', () => {
  it('accepts a valid message', () => {
    const message = { type: 'state', runId, at: 1, state: 'running' };
    expect(parseResultMessage(JSON.stringify(message))).toEqual({ ok: true, message });
  });

  it.each([
    [undefined, 'entry has no "m" field'],
    ['{', 'not JSON'],
    [JSON.stringify({ type: 'state', runId: 'r1', at: 1, state: 'running' }), 'runId "r1" is not a UUID'],
    [JSON.stringify({ type: 'state', runId, at: 1, state: 'sleeping' }), 'state: Invalid option: expected one of'],
    [JSON.stringify({ type: 'state', runId, at: 1e20, state: 'running' }), 'at 100000000000000000000 is not a time'],
    [JSON.stringify({ type: 'events', runId, seq: 2 ** 31, output: 'o', timeField: 't', records: [] }), 'seq 2147483648 is too large'],
  ])('rejects %s', (raw, reason) => {
    const parsed = parseResultMessage(raw);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.reason).toContain(reason);
  });

  it('accepts a summary with a stacks output, and an older daemon\'s summary with counts keyed by stack ids', () => {
    const summary = (outputs: unknown[]) => ({
      type: 'summary',
      runId,
      at: 1,
      state: 'succeeded',
      outputs,
      events: [],
      counters: { events: 0, lostEvents: 0, droppedEvents: 0 },
    });
    const stacks = { kind: 'stacks', name: 'samples', unit: 'samples', entries: [{ stack: 'app;main;work;schedule_[k]', value: 3 }], unsymbolized: 0, lost: 0 };
    expect(parseResultMessage(JSON.stringify(summary([stacks])))).toEqual({ ok: true, message: summary([stacks]) });
    const old = {
      kind: 'counts',
      name: 'samples',
      unit: 'samples',
      keyFields: ['pid', 'comm', 'user_stack_id', 'kernel_stack_id'],
      entries: [{ key: { pid: 7, comm: 'app', user_stack_id: 12, kernel_stack_id: -14 }, value: 3 }],
    };
    expect(parseResultMessage(JSON.stringify(summary([old])))).toEqual({ ok: true, message: summary([old]) });
    const parsed = parseResultMessage(JSON.stringify(summary([{ ...stacks, entries: [{ stack: '', value: 1 }] }])));
    expect(parsed.ok ? '' : parsed.reason).toMatch(/^outputs\.0\.entries\.0\.stack: /);
  });

  it('names the run a refused message reports on, when its type and run id can be read', () => {
    const stacks = (value: number) => ({
      type: 'summary',
      runId,
      at: 1,
      state: 'succeeded',
      outputs: [{ kind: 'stacks', name: 's', unit: 'samples', entries: [{ stack: 'a;b', value }], unsymbolized: 0, lost: 0 }],
      events: [{ kind: 'events', name: 'e', received: 1, dropped: 0 }],
      counters: { events: 0, lostEvents: 0, droppedEvents: 0 },
    });
    expect(parseResultMessage(JSON.stringify(stacks(2 ** 63)))).toEqual({
      ok: false,
      reason: 'outputs.0.entries.0.value 9223372036854776000 is outside the int8 range',
      runId,
    });
    // The largest double below 2^63 still fits.
    expect(parseResultMessage(JSON.stringify(stacks(2 ** 63 - 1024))).ok).toBe(true);
    const received = { ...stacks(1), events: [{ kind: 'events', name: 'e', received: -1e19, dropped: 0 }] };
    expect(parseResultMessage(JSON.stringify(received))).toMatchObject({ reason: 'events.0.received -10000000000000000000 is outside the int8 range', runId });
    expect(parseResultMessage(JSON.stringify({ type: 'events', runId, seq: -1, output: 'o', timeField: 't', records: [] }))).toMatchObject({ runId });
    // A type this API does not know (a newer daemon's) fails no run.
    expect(parseResultMessage(JSON.stringify({ type: 'progress', runId }))).not.toHaveProperty('runId');
    expect(parseResultMessage(JSON.stringify({ type: 'state', runId: 'r1', at: 1, state: 'running' }))).not.toHaveProperty('runId');
  });

  it('replaces lone surrogates, which jsonb cannot store, and keeps pairs', () => {
    const raw = JSON.stringify({ type: 'events', runId, seq: 0, output: 'o\udc00', timeField: 't', records: [{ comm: '\ud800x', 'k\udbff': 'ok 😀', t: 1 }] });
    const parsed = parseResultMessage(raw);
    expect(parsed.ok && parsed.message).toMatchObject({ output: 'o\ufffd', records: [{ comm: '\ufffdx', 'k\ufffd': 'ok 😀', t: 1 }] });
  });

  it('returns a message that needs no cleaning as parsed, without copying it', () => {
    const record = { comm: 'bash', t: 1 };
    const message = { records: [record] };
    expect(validText(message)).toBe(message);
    expect(validText({ records: [record, { comm: 'a\u0000' }] }).records[0]).toBe(record);
  });

  it('accepts a summary\'s warnings within their cap and rejects more', () => {
    const summary = (warnings: unknown) => ({ type: 'summary', runId, at: 1, state: 'succeeded', outputs: [], events: [], counters: { events: 0, lostEvents: 0, droppedEvents: 0 }, warnings });
    const warnings = { first: ['WARNING: could not attach probe kprobe:vfs_open, skipping.'], distinct: 3 };
    expect(parseResultMessage(JSON.stringify(summary(warnings)))).toEqual({ ok: true, message: summary(warnings) });
    const parsed = parseResultMessage(JSON.stringify(summary({ first: Array.from({ length: 21 }, String), distinct: 21 })));
    expect(parsed.ok ? '' : parsed.reason).toBe('warnings.first: Too big: expected array to have <=20 items');
  });

  it('removes NUL characters, which jsonb cannot store', () => {
    const raw = JSON.stringify({ type: 'events', runId, seq: 0, output: 'o', timeField: 't', records: [{ 'c\u0000': 'a\u0000b', t: 1 }] });
    const parsed = parseResultMessage(raw);
    expect(parsed.ok && parsed.message.type === 'events' && parsed.message.records).toEqual([{ c: 'ab', t: 1 }]);
  });

  it('keeps a valid surrogate pair as it is, in a value, a key and the output', () => {
    const emoji = [{ comm: 'ok 😀', '😀': 1, t: 1 }];
    const raw = JSON.stringify({ type: 'events', runId, seq: 0, output: 'o😀', timeField: 't', records: emoji });
    expect(parseResultMessage(raw)).toEqual({ ok: true, message: JSON.parse(raw) });
    // A lone surrogate beside it is replaced.
    const lone = JSON.stringify({ type: 'events', runId, seq: 0, output: 'o', timeField: 't', records: [{ comm: 'ok 😀\ud800', t: 1 }] });
    const parsed = parseResultMessage(lone);
    expect(parsed.ok && parsed.message.type === 'events' && parsed.message.records).toEqual([{ comm: 'ok 😀\ufffd', t: 1 }]);
  });

  it('checks records as the contracts schema does, without it', () => {
    // Whatever JSON a record is, the fast check accepts it exactly when the schema does.
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }), (records) => {
        const schema = RecordSchema.array().safeParse(records).success;
        expect(typeof checkedRecords(records) !== 'string').toBe(schema);
      }),
      { numRuns: 500 },
    );
    expect(checkedRecords([{ a: 1 }, { b: [1] }])).toBe('records.1.b: Invalid input: expected number, string, boolean or null');
    expect(checkedRecords([null])).toBe('records.0: Invalid input: expected record');
    expect(parseResultMessage(JSON.stringify({ type: 'events', runId, seq: 0, output: 'o', timeField: 't', records: [{ a: { b: 1 } }] }))).toEqual({
      ok: false,
      reason: 'records.0.a: Invalid input: expected number, string, boolean or null',
      runId,
    });
  });
});
