import { MAX_SAMPLE_SEED_LENGTH, parseSample, parseSelector, SelectorSyntaxError, type TargetsV2 } from '@fleettrace/contracts';
import { UsageError } from '../errors';
import { positiveInteger } from '../output/printer';
import type { CommandInput } from '../spec';

/** `--hosts a,b`: ids or names, each once. */
function hostList(text: string): string[] {
  const hosts = text
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  if (hosts.length === 0) throw new UsageError('--hosts needs at least one host id or name: --hosts web-1,web-2');
  return [...new Set(hosts)];
}

/**
 * `--selector` checked here with the parser the API uses, so a typo is a usage error naming the flag
 * and where in the text it is, before anything is sent.
 */
export function checkSelector(text: string, flag = '--selector'): string {
  try {
    parseSelector(text);
  } catch (error) {
    if (error instanceof SelectorSyntaxError) throw new UsageError(`${flag} ${JSON.stringify(text)}: ${error.problem}`);
    throw error;
  }
  return text;
}

/** `--sample 5` (a count, sent as a number) or `--sample 10%`. */
function sampleOf(text: string): number | string {
  try {
    parseSample(text);
  } catch {
    throw new UsageError(`--sample must be a count like 5 or a percent like 10%, got "${text}"`);
  }
  return /^\d+$/.test(text) ? Number(text) : text;
}

/**
 * The job's `targets` from the target flags: `--hosts` (ids or names) narrowed by `--selector`,
 * then `--sample` (seeded by `--seed`) and `--max-hosts`. No flag: every online host.
 */
export function buildTargets(options: CommandInput['options']): TargetsV2 {
  const targets: TargetsV2 = {};
  if (options.hosts !== undefined) targets.hosts = hostList(String(options.hosts));
  if (options.selector !== undefined) targets.selector = checkSelector(String(options.selector));
  if (options.sample !== undefined) targets.sample = sampleOf(String(options.sample));
  if (options.seed !== undefined) {
    const seed = String(options.seed);
    if (seed === '' || seed.length > MAX_SAMPLE_SEED_LENGTH) throw new UsageError(`--seed must be 1 to ${MAX_SAMPLE_SEED_LENGTH} characters`);
    targets.seed = seed;
  }
  if (options.maxHosts !== undefined) targets.maxHosts = positiveInteger(options.maxHosts, '--max-hosts', 0);
  return targets;
}
