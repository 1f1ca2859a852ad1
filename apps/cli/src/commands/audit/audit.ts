import type { AuditEntryView } from '@fleettrace/contracts';
import { withClient } from '../../api/with-client';
import { ExitCode, UsageError } from '../../errors';
import type { Dataset } from '../../output/dataset';
import { printData, printOptions, tableLines } from '../../output/printer';
import type { CommandHandler } from '../../spec';
import { ago } from '../../views/time';
import { timeFlag } from '../jobs/ls';
import { fetchPages, morePages, pagingOf } from '../jobs/paging';
import { AUDIT_PAGE } from '../jobs/paging-options';

const ACTION = /^[a-z]+(\.[a-z_]+)*\.?$/;

export function auditDataset(entries: readonly AuditEntryView[], now = Date.now()): Dataset {
  const rows = entries.map((e) => ({
    at: ago(e.at, now),
    action: e.action,
    actor: e.actor ?? '',
    address: e.address ?? '',
    subject: e.subject,
    program: e.programSha256 ? e.programSha256.slice(0, 12) : '',
    id: e.id,
    time: e.at,
    programSha256: e.programSha256,
    detail: JSON.stringify(e.detail),
  }));
  return { columns: ['at', 'action', 'actor', 'address', 'subject', 'program'], rows };
}

export const audit: CommandHandler = async (input, io) => {
  const { options } = input;
  const print = printOptions({ ...options, limit: undefined });
  const paging = pagingOf(options, AUDIT_PAGE.max, AUDIT_PAGE.fallback);
  if (options.action !== undefined && !ACTION.test(String(options.action))) {
    throw new UsageError(`--action must be an action like job.create or a family like token., got "${options.action}"`);
  }
  const query = {
    action: options.action as string | undefined,
    actor: options.actor as string | undefined,
    since: options.since === undefined ? undefined : timeFlag(String(options.since), '--since'),
    until: options.until === undefined ? undefined : timeFlag(String(options.until), '--until'),
    limit: paging.limit,
  };
  const page = await withClient(input, io, (client) => fetchPages(paging, (cursor) => client.audit({ ...query, cursor })));
  await printData(io.stdout, print, page, auditDataset(page.items), (chosen) => (page.items.length === 0 ? ['no audit entries'] : tableLines(chosen, io.stdout.color)));
  const more = morePages('fleettrace audit', page.nextCursor);
  if (more) io.stderr.write(`${more}\n`);
  return ExitCode.ok;
};
