import { z } from 'zod';
import { SAMPLE_SYNTAX_MESSAGE, parseSample } from './host-sample';
import { MAX_DURATION_SECONDS, MAX_SAMPLE_SEED_LENGTH, MAX_SELECTOR_LENGTH, MAX_TARGET_HOST_IDS } from './limits';
import { JobLimits } from './run-limits';
import { ProgramField, ProgramSpec } from './program';
import { apiComponent, documentAs } from './api-components';
import { RolloutSpec } from './rollout';
import { SelectorSyntaxError, formatSelector, isLabelKey, isLabelValue, parseSelector, type SelectorTerm } from './selector';

export const ProgramName = z
  .string({ error: 'program must be a string' })
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'program must be a catalog name like "execsnoop"');

export const TargetSelector = z.union(
  [
    z.object({ all: z.literal(true) }).strict(),
    z
      .object({
        hostIds: z
          .array(z.string().min(1), { error: 'targets.hostIds must be an array of host ids' })
          .min(1, 'targets.hostIds must name at least one host')
          .max(MAX_TARGET_HOST_IDS, `targets.hostIds must name at most ${MAX_TARGET_HOST_IDS} hosts`),
      })
      .strict(),
    z
      .object({
        labels: z.record(z.string(), z.string(), { error: 'targets.labels must map label names to strings' }),
      })
      .strict(),
  ],
  { error: 'targets must be {"all":true}, {"hostIds":[...]} or {"labels":{...}}' },
);
export type TargetSelector = z.infer<typeof TargetSelector>;

const HOSTS_MESSAGE = 'targets.hosts must be an array of host ids or names';
const SAMPLE_MESSAGE = `targets.${SAMPLE_SYNTAX_MESSAGE}`;
const SEED_MESSAGE = `targets.seed must be a string of 1 to ${MAX_SAMPLE_SEED_LENGTH} characters`;
const MAX_HOSTS_MESSAGE = 'targets.maxHosts must be a whole number of at least 1';

/**
 * A job's targets: the named `hosts` (ids or names) if any, narrowed by `selector` if any (the
 * grammar of ./selector), then a seeded `sample` of those, then at most `maxHosts` of them (see
 * selectHosts). Neither hosts nor selector: every host.
 */
export const TargetsV2 = z
  .object(
    {
      hosts: z
        .array(z.string({ error: HOSTS_MESSAGE }).min(1, HOSTS_MESSAGE), { error: HOSTS_MESSAGE })
        .min(1, 'targets.hosts must name at least one host')
        .max(MAX_TARGET_HOST_IDS, `targets.hosts must name at most ${MAX_TARGET_HOST_IDS} hosts`)
        .optional(),
      selector: z
        .string({ error: 'targets.selector must be a string' })
        .superRefine((text, ctx) => {
          const problem = selectorProblem(text);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        })
        .optional(),
      sample: z.union([z.number(), z.string()], { error: SAMPLE_MESSAGE }).refine(sampleIsValid, SAMPLE_MESSAGE).optional(),
      seed: z.string({ error: SEED_MESSAGE }).min(1, SEED_MESSAGE).max(MAX_SAMPLE_SEED_LENGTH, SEED_MESSAGE).optional(),
      maxHosts: z.number({ error: MAX_HOSTS_MESSAGE }).int(MAX_HOSTS_MESSAGE).min(1, MAX_HOSTS_MESSAGE).optional(),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `targets has unknown ${issue.keys.length === 1 ? 'field' : 'fields'} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
          : 'targets must be an object',
    },
  )
  .strict();
export type TargetsV2 = z.infer<typeof TargetsV2>;
apiComponent('TargetsV2', TargetsV2);

function selectorProblem(text: string): string | undefined {
  if (text.length > MAX_SELECTOR_LENGTH) return `targets.selector must be at most ${MAX_SELECTOR_LENGTH} characters`;
  try {
    parseSelector(text);
    return undefined;
  } catch (error) {
    if (error instanceof SelectorSyntaxError) return `targets.selector: ${error.problem}`;
    throw error;
  }
}

function sampleIsValid(sample: number | string): boolean {
  try {
    parseSample(sample);
    return true;
  } catch {
    return false;
  }
}

function isLegacyTargets(targets: TargetSelector | TargetsV2): targets is TargetSelector {
  return 'all' in targets || 'hostIds' in targets || 'labels' in targets;
}

/**
 * The V2 form of any accepted targets: `{all:true}` is every host, `hostIds` become `hosts`, and a
 * `labels` map becomes the selector `k=v,...` (an empty map selected every host, and still does).
 */
export function normalizeTargets(targets: TargetSelector | TargetsV2): TargetsV2 {
  if (!isLegacyTargets(targets)) return targets;
  if ('hostIds' in targets) return { hosts: targets.hostIds };
  if ('labels' in targets) {
    const terms = Object.entries(targets.labels).map(([key, value]): SelectorTerm => ({ field: 'label', key, op: '=', values: [value] }));
    return terms.length === 0 ? {} : { selector: formatSelector({ terms }) };
  }
  return {};
}

/**
 * The request's `targets` in either form, as V2, so old clients keep working. An object with
 * `all`, `hostIds` or `labels` is read as a legacy form, anything else as V2.
 */
const targetsInput = z.custom<TargetSelector | TargetsV2>();
documentAs(targetsInput, z.union([TargetsV2, TargetSelector]));

export const TargetsField = targetsInput
  .superRefine((value, ctx) => {
    const legacy = typeof value === 'object' && value !== null && ['all', 'hostIds', 'labels'].some((key) => key in value);
    const result = (legacy ? TargetSelector : TargetsV2).safeParse(value);
    if (!result.success) {
      for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
      return;
    }
    const problem = 'labels' in result.data ? legacyLabelsProblem(result.data.labels) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform(normalizeTargets);

/** Labels the old exact matcher took but a selector cannot express. */
function legacyLabelsProblem(labels: Record<string, string>): string | undefined {
  for (const [key, value] of Object.entries(labels)) {
    if (!isLabelKey(key)) return `targets.labels: invalid label key ${JSON.stringify(key)}`;
    if (!isLabelValue(value)) return `targets.labels: invalid label value ${JSON.stringify(value)}`;
  }
  return undefined;
}

export const DurationSeconds = z
  .number({ error: 'durationSeconds must be a number' })
  .int('durationSeconds must be a whole number of seconds')
  .min(1, 'durationSeconds must be at least 1 s')
  .max(MAX_DURATION_SECONDS, `durationSeconds must be at most ${MAX_DURATION_SECONDS} s`);

export const ProgramParams = z.record(z.string(), z.unknown(), { error: 'params must be an object' });

const SNAPSHOT_MESSAGE = 'snapshotSeconds must be a whole number of seconds, at least 1';

export const CreateJobRequest = z
  .object({
    /** A catalog name, or `{ kind: 'bpftrace', script }`, or `{ kind: 'c', source, outputs }`. */
    program: ProgramField,
    params: ProgramParams.default({}),
    /** Which hosts (TargetsV2; the legacy forms are read too). Unset: every online host. */
    targets: TargetsField.default({}),
    durationSeconds: DurationSeconds,
    /** Overrides of the per-run limits (map memory, events/s, overhead budget), within server policy. */
    limits: JobLimits.optional(),
    /** Canary hosts first, then batches, stopped by a failure limit. */
    rollout: RolloutSpec.optional(),
    /** Each host sends its hist / counts / stacks maps every S seconds while the run goes on. */
    snapshotSeconds: z.number({ error: SNAPSHOT_MESSAGE }).int(SNAPSHOT_MESSAGE).min(1, SNAPSHOT_MESSAGE).optional(),
  })
  .strict();
apiComponent('CreateJobRequest', CreateJobRequest, 'request');
/** The request as sent (targets in any accepted form). */
export type CreateJobInput = z.input<typeof CreateJobRequest>;
/** The request as validated (targets normalized to TargetsV2). */
export type CreateJobRequest = z.infer<typeof CreateJobRequest>;

/** A job request as validated and kept (a schedule's template): targets in their V2 form. */
export const JobTemplate = apiComponent('JobTemplate', CreateJobRequest.extend({ program: ProgramSpec, targets: TargetsV2 }));
