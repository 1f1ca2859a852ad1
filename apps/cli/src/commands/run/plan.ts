import type { JobPlanView } from '@fleettrace/contracts';
import type { OutputStream } from '../../io';
import type { Dataset } from '../../output/dataset';
import { chooseColumns, printDocument, printRows, writeLines, type PrintOptions } from '../../output/printer';
import { renderTable } from '../../views/table';

/**
 * Every host a dry run names, a row each: `run` with its rollout stage (0: the canaries, or every
 * host without a rollout), `unsupported` with why, or `offline`.
 */
export function planDataset(plan: JobPlanView): Dataset {
  const stageOf = new Map((plan.stages ?? [plan.hosts]).flatMap((hosts, stage) => hosts.map((h) => [h.id, stage] as const)));
  const rows = [
    ...plan.hosts.map((h) => ({ host: h.id, name: h.name, plan: 'run', stage: stageOf.get(h.id) ?? 0, reason: '' })),
    ...plan.unsupported.map((h) => ({ host: h.id, name: h.name, plan: 'unsupported', stage: null, reason: h.reason })),
    ...plan.offline.map((h) => ({ host: h.id, name: h.name, plan: 'offline', stage: null, reason: 'offline: left out' })),
  ];
  return { columns: ['host', 'name', 'plan', 'stage', 'reason'], rows };
}

function stageName(stage: number, rollout: boolean): string {
  if (!rollout) return 'at once';
  return stage === 0 ? 'canaries' : `batch ${stage}`;
}

/** `run --dry-run`: the API's plan as -o asks; for a table, a line per host and what the targets left out. */
export async function printPlan(out: OutputStream, print: PrintOptions, plan: JobPlanView): Promise<void> {
  if (print.format === 'json' || print.format === 'yaml') return printDocument(out, print.format, plan);
  const dataset = chooseColumns(planDataset(plan), print.fields);
  if (print.format === 'csv' || print.format === 'ndjson') return printRows(out, print.format, dataset);
  const rollout = plan.stages !== null;
  const rows = dataset.rows.map((row) => ({ ...row, stage: typeof row.stage === 'number' ? stageName(row.stage, rollout) : '' }));
  const summary = [
    `dry run: would run on ${plan.hosts.length} host${plan.hosts.length === 1 ? '' : 's'}`,
    plan.unsupported.length > 0 ? `${plan.unsupported.length} unsupported` : '',
    plan.offline.length > 0 ? `${plan.offline.length} offline` : '',
    plan.sampledOut > 0 ? `${plan.sampledOut} left out by --sample/--max-hosts` : '',
  ].filter(Boolean);
  const table = rows.length > 0 ? renderTable(dataset.columns.map((key) => ({ key, header: key.toUpperCase() })), rows, out.color) : [];
  writeLines(out, [...table, ...(table.length > 0 ? [''] : []), `${summary.join('; ')}; nothing was started`]);
}
