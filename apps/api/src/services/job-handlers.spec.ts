import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { OnJob } from '../decorators/on-job.decorator';
import { buildJobHandlerTable } from './job-handlers';

const declared = [
  { queue: 'q', name: 'a' },
  { queue: 'q', name: 'b' },
];

class HandlesA {
  seen: unknown[] = [];
  @OnJob({ queue: 'q', name: 'a' })
  async a(data: unknown) {
    this.seen.push(data);
  }
}
class HandlesB {
  @OnJob({ queue: 'q', name: 'b' })
  async b() {}
}
class AlsoHandlesA {
  @OnJob({ queue: 'q', name: 'a' })
  async again() {}
}
class HandlesUndeclared {
  @OnJob({ queue: 'q', name: 'z' })
  async z() {}
}

describe('buildJobHandlerTable', () => {
  it('maps each declared job to its one handler, bound to its service', async () => {
    const a = new HandlesA();
    const table = buildJobHandlerTable(declared, [a, new HandlesB(), { plain: 'object' }]);
    await table.get('q')?.get('a')?.({ x: 1 });
    expect(a.seen).toEqual([{ x: 1 }]);
    expect([...(table.get('q')?.keys() ?? [])]).toEqual(['a', 'b']);
  });

  it('refuses a declared job without a handler', () => {
    expect(() => buildJobHandlerTable(declared, [new HandlesA()])).toThrow('job handlers: job q/b has no handler');
  });

  it('refuses a job with two handlers', () => {
    expect(() => buildJobHandlerTable(declared, [new HandlesA(), new AlsoHandlesA(), new HandlesB()])).toThrow(
      'job handlers: job q/a has 2 handlers: HandlesA.a, AlsoHandlesA.again',
    );
  });

  it('refuses a handler for a job nobody declared', () => {
    expect(() => buildJobHandlerTable(declared, [new HandlesA(), new HandlesB(), new HandlesUndeclared()])).toThrow(
      'job handlers: HandlesUndeclared.z handles undeclared job q/z',
    );
  });
});
