import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CliError, UsageError } from '../errors';
import type { Io } from '../io';
import { parseEnvFile } from './env-file';

/** One API to talk to, as ~/.config/fleettrace/config.json names it. */
export interface Profile {
  url: string;
  /** File holding the bearer token; `~/` is the home directory. The token itself never sits in the config. */
  tokenFile?: string;
}

export interface ConfigFile {
  defaultProfile?: string;
  profiles: Record<string, Profile>;
}

/** Where the URL and token came from, for error messages. */
export interface ApiTarget {
  url: string;
  token: string;
  source: string;
}

/** The local stack's environment (`npm run stack -- up` writes it), found from any directory of the repository. */
export const LOCAL_ENV_PATH = join('.fleettrace', 'local.env');

export function configPath(env: Io['env']): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME ?? '', '.config');
  return join(base, 'fleettrace', 'config.json');
}

function expandHome(path: string, env: Io['env']): string {
  return path === '~' || path.startsWith('~/') ? join(env.HOME ?? '', path.slice(1)) : path;
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

export function readConfigFile(env: Io['env']): ConfigFile {
  const path = configPath(env);
  const text = readIfExists(path);
  if (text === undefined) return { profiles: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const problem = configProblem(parsed);
  if (problem) throw new CliError(`${path}: ${problem}`);
  return parsed as ConfigFile;
}

function configProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object {"profiles": {...}}';
  const config = value as Record<string, unknown>;
  if (config.defaultProfile !== undefined && typeof config.defaultProfile !== 'string') return 'defaultProfile must be a profile name';
  const profiles = config.profiles ?? {};
  if (typeof profiles !== 'object' || profiles === null || Array.isArray(profiles)) return 'profiles must map names to {"url", "tokenFile"}';
  for (const [name, profile] of Object.entries(profiles as Record<string, unknown>)) {
    const p = profile as Record<string, unknown> | null;
    if (typeof p !== 'object' || p === null || typeof p.url !== 'string') return `profile "${name}" needs a "url"`;
    if (p.tokenFile !== undefined && typeof p.tokenFile !== 'string') return `profile "${name}": tokenFile must be a path`;
    if ('token' in p) return `profile "${name}": put the token in a file and name it with "tokenFile"`;
  }
  if (config.defaultProfile !== undefined && !Object.hasOwn(profiles, config.defaultProfile as string)) {
    return `defaultProfile "${config.defaultProfile}" is not one of the profiles`;
  }
  return undefined;
}

/** The nearest .fleettrace/local.env from `cwd` up to the filesystem root. */
export function findLocalEnv(cwd: string): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, LOCAL_ENV_PATH);
    if (readIfExists(candidate) !== undefined) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

interface TargetParts {
  url?: string;
  token?: string;
  source: string;
}

function fromProfile(name: string, profile: Profile, env: Io['env']): TargetParts {
  let token: string | undefined;
  if (profile.tokenFile) {
    const path = expandHome(profile.tokenFile, env);
    const text = readIfExists(path);
    if (text === undefined) throw new CliError(`profile "${name}": token file ${path} does not exist`);
    token = text.trim();
  }
  return { url: profile.url, token, source: `profile "${name}"` };
}

/**
 * Which API to talk to, and with which token. In order: `--profile NAME`; else the local stack's
 * .fleettrace/local.env when run inside the repository; else the config's default profile.
 * FLEETTRACE_URL and FLEETTRACE_TOKEN override either part of whichever was chosen.
 */
export function resolveApiTarget(io: Pick<Io, 'env' | 'cwd'>, profileName: string | undefined): ApiTarget {
  const config = readConfigFile(io.env);
  let base: TargetParts = { source: 'the environment' };
  if (profileName !== undefined) {
    const profile = config.profiles[profileName];
    if (!Object.hasOwn(config.profiles, profileName) || !profile) {
      const known = Object.keys(config.profiles);
      throw new UsageError(`--profile: no profile "${profileName}" in ${configPath(io.env)}${known.length ? ` (profiles: ${known.join(', ')})` : ''}`);
    }
    base = fromProfile(profileName, profile, io.env);
  } else {
    const localEnv = findLocalEnv(io.cwd);
    if (localEnv) {
      const values = parseEnvFile(readFileSync(localEnv, 'utf8'));
      base = { url: values.FLEETTRACE_URL, token: values.FLEETTRACE_TOKEN, source: localEnv };
    } else if (config.defaultProfile) {
      base = fromProfile(config.defaultProfile, config.profiles[config.defaultProfile], io.env);
    }
  }
  const url = io.env.FLEETTRACE_URL || base.url;
  const token = io.env.FLEETTRACE_TOKEN || base.token;
  if (!url) {
    throw new CliError('no API to talk to: set FLEETTRACE_URL, add a profile to ~/.config/fleettrace/config.json, or start the local stack (npm run stack -- up)');
  }
  if (!token) throw new CliError(`no API token for ${url}: set FLEETTRACE_TOKEN, or a tokenFile in the profile`);
  return { url: url.replace(/\/+$/, ''), token, source: io.env.FLEETTRACE_URL ? 'FLEETTRACE_URL' : base.source };
}
