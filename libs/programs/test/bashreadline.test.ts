import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { EventRecord } from '@fleettrace/contracts';
import { spawnInCgroup } from '@fleettrace/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASHREADLINE_EVENT, bashreadline } from '../src/bashreadline/bashreadline';
import { createRecordDecoder } from '../src/decode';
import { attachAsPlanned } from './support/attach-plan';
import { buildPrograms } from './support/build';
import { createScope, loadProgram, trackKernelObjects, type TestScope } from './support/kernel';

const track = trackKernelObjects();
let scope: TestScope;

beforeAll(() => {
  buildPrograms();
  scope = createScope('bashreadline');
}, 120_000);

afterAll(() => scope?.remove());

/**
 * An interactive bash on a pseudo-terminal (script(1) gives it one, so it reads with readline)
 * in `cgroup`, typing `lines` and then exit. No rc files, no history file.
 */
async function typeIntoBash(cgroup: string, lines: string[]): Promise<void> {
  const child = spawnInCgroup(cgroup, 'script', ['-qec', 'bash --norc --noprofile -i', '/dev/null'], {
    stdio: ['pipe', 'ignore', 'inherit'],
    env: { ...process.env, HISTFILE: '/dev/null', PS1: '$ ' },
  });
  const exited = once(child, 'exit');
  child.stdin!.write([...lines, 'exit', ''].join('\n'));
  const [code] = await exited;
  expect(code).toBe(0);
}

describe('bashreadline in the kernel', () => {
  it("sees the lines typed into an interactive bash in the scope, and not one outside it", async () => {
    const marker = `ft-readline-${randomUUID()}`;
    const decode = createRecordDecoder(BASHREADLINE_EVENT);
    const events: EventRecord[] = [];
    const obj = track(loadProgram(bashreadline, {}, scope.filter));
    try {
      obj.ringBuffer('events', (batch) => batch.forEach((buf, offset) => events.push(decode(buf, offset))));
      expect(attachAsPlanned(obj, bashreadline, {}).map((l) => l.kind)).toEqual(['uretprobe']);
      await typeIntoBash(scope.inside, [`echo ${marker} inside`, 'true']);
      await typeIntoBash(scope.outside, [`echo ${marker} outside`]);
    } finally {
      await obj.close();
    }
    expect(events.map((e) => e.line)).toEqual([`echo ${marker} inside`, 'true', 'exit']);
    for (const e of events) expect(e).toMatchObject({ comm: 'bash', uid: process.getuid!() });
  }, 30_000);
});
