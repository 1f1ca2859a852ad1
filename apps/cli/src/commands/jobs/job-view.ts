import { programLabel, type JobView } from '@fleettrace/contracts';
import type { OutputStream } from '../../io';
import { hostSummaries } from '../../job/host-summary';
import { jobProgress } from '../../job/phases';
import type { Dataset } from '../../output/dataset';
import { chooseColumns, printDocument, printRows, writeLines, type PrintOptions } from '../../output/printer';
import { hostSummaryLines } from '../../output/results';
import { renderTable } from '../../views/table';

function targetsText(job: JobView): string {
  const targets = job.targets as Record<string, unknown>;
  if ('hostIds' in targets) return `hosts ${(targets.hostIds as string[]).join(', ')}`;
  if ('labels' in targets) return `labels ${Object.entries(targets.labels as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',')}`;
  if ('hosts' in targets || 'selector' in targets) return JSON.stringify(targets);
  return 'every host';
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
  const progress = jobProgress(job);
  const header = [
    `job       ${job.id}`,
    `program   ${programLabel(job.program)}${Object.keys(job.params).length > 0 ? ` ${JSON.stringify(job.params)}` : ''}`,
    `targets   ${targetsText(job)}`,
    `duration  ${job.durationSeconds}s`,
    `state     ${job.state} (${Object.entries(progress.phases).map(([phase, n]) => `${phase} ${n}`).join(', ')})`,
    `created   ${job.createdAt}${job.finishedAt ? `, finished ${job.finishedAt}` : ''}`,
    '',
  ];
  if (print.fields === undefined) return writeLines(out, [...header, ...hostSummaryLines(hostSummaries(job), out.color)]);
  const dataset = chooseColumns(runsDataset(job), print.fields);
  writeLines(out, [...header, ...renderTable(dataset.columns.map((key) => ({ key, header: key.toUpperCase() })), dataset.rows, out.color)]);
}
