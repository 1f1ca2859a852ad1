import { describe, expect, it } from 'vitest';
import { parseCOutput } from './c-outputs';

describe('parseCOutput', () => {
  it('reads hist, counts and events declarations with their optional settings', () => {
    expect(parseCOutput('hist=lat:us')).toEqual({ kind: 'hist', map: 'lat', unit: 'us' });
    expect(parseCOutput('counts=counts:calls,name=getpriority')).toEqual({ kind: 'counts', map: 'counts', unit: 'calls', name: 'getpriority' });
    expect(parseCOutput('events=events:struct event,time=ts,name=calls')).toEqual({
      kind: 'events',
      ringBuffer: 'events',
      recordType: 'struct event',
      timeField: 'ts',
      name: 'calls',
    });
  });

  it('refuses other shapes, saying what it expected', () => {
    for (const bad of ['hist', 'hist=lat', 'stacks=s:x', 'hist=lat:us,colour=red', 'hist=lat:us,name=a,name=b']) {
      expect(() => parseCOutput(bad), bad).toThrow(`--output "${bad}": expected hist=MAP:UNIT`);
    }
    expect(() => parseCOutput('hist=lat:us,time=ts')).toThrow('--output "hist=lat:us,time=ts": time= applies to events outputs only');
  });
});
