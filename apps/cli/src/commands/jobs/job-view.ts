import { programLabel, type JobView, type RolloutSpec, type TargetsV2 } from '@fleettrace/contracts';
import type { OutputStream } from '../../io';
import { hostSummaries } from '../../job/host-summary';
import { jobProgress } from '../../job/phases';
import type { Dataset } from '../../output/dataset';
import { chooseColumns, printDocument, printRows, tableLines, writeLines, type PrintOptions } from '../../output/printer';
import { hostSummaryLines } from '../../output/results';
import { localTime } from '../../views/time';

/** `hosts a, b; selector tier=web; sample 10% (seed ops); at most 5`, or `every host`. */
export function targetsText(targets: TargetsV2): string {
  const parts = [
    targets.hosts ? `hosts ${targets.hosts.join(', ')}` : '',
    targets.selector ? `selector ${targets.selector}` : '',
    targets.sample !== undefined ? `sample ${targets.sample}${targets.seed ? ` (seed ${targets.seed})` : ''}` : '',
    targets.maxHosts !== undefined ? `at most ${targets.maxHosts}` : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join('; ') : 'every host';
}

/** `canary 2, batches of 10 every 5s, stop past 10% failed`. */
export function rolloutText(rollout: RolloutSpec): string {
  return [
    rollout.canary !== undefined ? `canary ${rollout.canary}` : '',
    rollout.batchSize !== undefined ? `batches of ${rollout.batchSize}${rollout.batchIntervalSeconds ? ` every ${rollout.batchIntervalSeconds}s` : ''}` : '',
    rollout.maxFailures !== undefined ? `stop past ${rollout.maxFailures} failed` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** The job's timeline (created, canary passed, batches, cancel...) and why its runs that did not succeed ended. */
export function timelineLines(job: JobView): string[] {
  const lines = ['timeline:', ...job.events.map((e) => `  ${localTime(e.at)}  ${e.message}`)];
  if (job.summary.causes.length > 0) lines.push('', 'failures:', ...job.summary.causes.map((c) => `  ${c.message}`));
  return lines;
}

/** The job's runs as rows: what -o csv / ndjson / table print, and what --fields picks from. */
export function runsDataset(job: JobView): Dataset {
  const rows = hostSummaries(job).map((h) => ({ ...h }));
  return { columns: ['host', 'state', 'events', 'lost', 'dropped', 'seconds', 'error'], rows };
}

/** A job as -o asks: the API's JobView for json and yaml; its runs as rows otherwise, under a short header for a table. */
export async function printJob(out: OutputStream, print: PrintOptions, job: JobView): Promise<void> {
  if (print.format === 'json' || print.format === 'yaml') return printDocument(out, print.format, job);
  if (print.format === 'csv' || print.format === 'ndjson') return printRows(out, print.format, chooseColumns(runsDataset(job), print.fields));
  const progress = jobProgress(job.runs);
  const header = [
    `job       ${job.id}`,
    `program   ${programLabel(job.program)}${Object.keys(job.params).length > 0 ? ` ${JSON.stringify(job.params)}` : ''}`,
    `targets   ${targetsText(job.targets)}`,
    ...(job.rollout ? [`rollout   ${rolloutText(job.rollout)}`] : []),
    `duration  ${job.durationSeconds}s${job.snapshotSeconds ? `, snapshots every ${job.snapshotSeconds}s` : ''}`,
    ...(job.scheduleId ? [`schedule  ${job.scheduleId}`] : []),
    `state     ${job.state} (${Object.entries(progress.phases).map(([phase, n]) => `${phase} ${n}`).join(', ')})`,
    `created   ${localTime(job.createdAt)} by ${job.createdBy}${job.finishedAt ? `, finished ${localTime(job.finishedAt)}` : ''}`,
    '',
  ];
  const dataset = chooseColumns(runsDataset(job), print.fields);
  const runs = print.fields === undefined ? hostSummaryLines(hostSummaries(job), out.color) : tableLines(dataset, out.color);
  writeLines(out, [...header, ...runs, '', ...timelineLines(job)]);
}
