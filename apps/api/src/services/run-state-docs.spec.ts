import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RUN_STATES, RUN_STATE_MEANINGS } from '@fleettrace/contracts';

describe('the README run-state table', () => {
  it('lists every state of the state machine with its meaning, in order', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../../../README.md', import.meta.url)), 'utf8');
    const rows = [...readme.matchAll(/^\| `([a-z_]+)` \| (.+) \|$/gm)].filter(([, state]) => (RUN_STATES as readonly string[]).includes(state!));
    expect(rows.map(([, state, meaning]) => [state, meaning])).toEqual(RUN_STATES.map((state) => [state, RUN_STATE_MEANINGS[state]]));
  });
});
