import { execFileSync } from 'node:child_process';
import { inject, it, expect } from 'vitest';
import { freshDatabaseUrl } from './database';

it('provides a real PostgreSQL and Redis', () => {
  const url = freshDatabaseUrl(inject('postgresUrl'), 'smoke');
  expect(execFileSync('psql', [url, '-qAtc', 'select 40 + 2']).toString().trim()).toBe('42');
  const port = new URL(inject('redisUrl')).port;
  expect(execFileSync('redis-cli', ['-p', port, 'ping']).toString().trim()).toBe('PONG');
});
