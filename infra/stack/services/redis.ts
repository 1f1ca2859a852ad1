import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDetached, stopPid, waitFor, type StartedProcess } from './process';

export interface RedisOptions {
  baseDir: string;
  port: number;
  /**
   * Append-only file, fsync'd every second: queued runs, results not yet ingested and schedules
   * survive a Redis restart (the local stack, compose and fault tests). Off for throwaway test servers.
   */
  durable?: boolean;
}

export interface RunningRedis extends StartedProcess {
  url: string;
  port: number;
}

/** Starts a project-local Redis; BullMQ requires noeviction, so queued jobs are never evicted. */
export async function startRedis(options: RedisOptions): Promise<RunningRedis> {
  mkdirSync(options.baseDir, { recursive: true });
  const args = [
    '--port', String(options.port),
    '--bind', '127.0.0.1',
    '--dir', options.baseDir,
    '--save', '',
    '--appendonly', options.durable ? 'yes' : 'no',
    ...(options.durable ? ['--appendfsync', 'everysec'] : []),
    '--maxmemory-policy', 'noeviction',
    '--daemonize', 'no',
  ];
  const started = startDetached('redis-server', args, join(options.baseDir, 'redis.log'));
  await waitFor(`Redis on port ${options.port}`, async () => {
    return execFileSync('redis-cli', ['-p', String(options.port), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() === 'PONG';
  });
  return { ...started, url: `redis://127.0.0.1:${options.port}`, port: options.port };
}

export function stopRedis(pid: number): Promise<void> {
  return stopPid(pid, 'SIGTERM');
}
