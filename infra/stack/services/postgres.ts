import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDetached, stopPid, waitFor, type StartedProcess } from './process';

const PG_BIN = process.env.FLEETTRACE_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PostgresOptions {
  /** Directory owned by the postgres user holding data/, the socket and the log. */
  baseDir: string;
  port: number;
  /** fsync off: for throwaway test clusters only. */
  durable: boolean;
}

export interface RunningPostgres extends StartedProcess {
  url: string;
  port: number;
}

function postgresUser(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/**
 * Starts a project-local PostgreSQL 15 cluster from Debian's server binaries. It refuses to run as
 * root, so initdb and postgres run as the postgres user, spawned with its uid so the PID we keep is
 * the postmaster's own.
 */
export async function startPostgres(options: PostgresOptions): Promise<RunningPostgres> {
  const { uid, gid } = postgresUser();
  const dataDir = join(options.baseDir, 'data');
  mkdirSync(options.baseDir, { recursive: true });
  chownSync(options.baseDir, uid, gid);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    try {
      execFileSync(join(PG_BIN, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'], {
        uid,
        gid,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(`initdb failed in ${dataDir}: ${stderr || String(error)}`);
    }
  }
  const args = ['-D', dataDir, '-p', String(options.port), '-k', options.baseDir, '-c', 'listen_addresses=127.0.0.1'];
  if (!options.durable) args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const started = startDetached(join(PG_BIN, 'postgres'), args, join(options.baseDir, 'postgres.log'), { uid, gid });
  const url = `postgres://postgres@127.0.0.1:${options.port}/postgres`;
  await waitFor(`PostgreSQL on port ${options.port} (log: ${join(options.baseDir, 'postgres.log')})`, async () => {
    execFileSync(join(PG_BIN, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(options.port)]);
    return true;
  });
  return { ...started, url, port: options.port };
}

/** SIGINT is PostgreSQL's fast shutdown: roll back open transactions, then exit cleanly. */
export function stopPostgres(pid: number): Promise<void> {
  return stopPid(pid, 'SIGINT', 20_000);
}

/** Creates a database on the cluster (idempotent) and returns its URL. */
export function createDatabase(serverUrl: string, name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid database name ${name}`);
  const url = new URL(serverUrl);
  const psql = ['-h', url.hostname, '-p', url.port, '-U', url.username || 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-qAt'];
  const exists = execFileSync('psql', [...psql, '-c', `SELECT 1 FROM pg_database WHERE datname = '${name}'`]).toString().trim();
  if (exists !== '1') execFileSync('psql', [...psql, '-c', `CREATE DATABASE ${name}`]);
  url.pathname = `/${name}`;
  return url.toString();
}
