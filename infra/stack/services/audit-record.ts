// The audit trail must hold a record for every mutation and refused authentication a test file
// caused. Once enabled (test/support/audit-coverage-hook.ts, the e2e project's setup file), every
// API this process starts appends to a request log the record each request owes (the API's own
// table, apps/api utils/audited-routes.ts); its audit trail is read through GET /v1/audit while it
// still runs (before stopPid stops it, or at the end if it is still up) and each owed record is
// looked for there.
import { readFileSync } from 'node:fs';
import type { AuditEntryView, AuditPage, AuditedRequestLine, OwedAuditRecord } from '@fleettrace/contracts';
import { isAlive, onStopping } from './process';

interface AuditedApi {
  pid: number;
  url: string;
  token: string;
  requestLog: string;
}

interface TrailRead {
  entries?: AuditEntryView[];
  error?: string;
}

/** The API's clock and PostgreSQL's are this machine's; a record is stamped at its transaction's start. */
const SLACK_MS = 2_000;
const PAGE = 500;
const READ_TIMEOUT_MS = 15_000;

let enabled = false;
/** By database: every API process started on it writes to the same audit table. */
const apisByDatabase = new Map<string, AuditedApi[]>();
/** The last read of each database's trail, made as one of its APIs was being stopped. */
const lastReads = new Map<string, TrailRead>();

export function enableAuditCoverage(): void {
  enabled = true;
}

/** Where an API started with `logFile` writes the records its requests owe; undefined when coverage is off. */
export function auditedRequestLogFor(logFile: string): string | undefined {
  return enabled ? `${logFile.replace(/\.log$/, '')}.audited-requests.ndjson` : undefined;
}

/** Called by startApi: reads the API's trail before it is stopped, while it still answers. */
export function recordAuditedApi(databaseUrl: string, api: AuditedApi): void {
  const apis = apisByDatabase.get(databaseUrl) ?? [];
  apis.push(api);
  apisByDatabase.set(databaseUrl, apis);
  onStopping(api.pid, async () => {
    const owed = owedIn(apis);
    if (owed.length > 0) lastReads.set(databaseUrl, await readTrail(api, earliest(owed)));
  });
}

/** Every owed record without its audit record, in every database an API of this process used. */
export async function auditCoverageGaps(): Promise<string[]> {
  const gaps: string[] = [];
  for (const [database, apis] of apisByDatabase) {
    const owed = owedIn(apis);
    if (owed.length === 0) continue;
    const running = apis.find((api) => isAlive(api.pid));
    const read = running ? await readTrail(running, earliest(owed)) : lastReads.get(database);
    const where = `the API on ${redactUrl(database)}`;
    if (!read?.entries) {
      gaps.push(`${where}: its audit trail could not be read (${read?.error ?? 'every API on it was stopped without stopPid'}), so ${owed.length} owed records are unchecked`);
      continue;
    }
    gaps.push(...auditGaps(owed, read.entries).map((gap) => `${where}: ${gap}`));
  }
  return gaps;
}

/**
 * Each owed record matched to its own audit record (same action, subject and actor, stamped while
 * the request ran): what is left unmatched, described. Two identical requests need two records.
 */
export function auditGaps(requests: readonly AuditedRequestLine[], entries: readonly AuditEntryView[]): string[] {
  const owed = requests.filter((line): line is AuditedRequestLine & { owed: OwedAuditRecord } => line.owed !== undefined);
  // By action and subject, oldest first: a suite's trail holds thousands of records.
  const unused = new Map<string, Array<{ at: number; actor: string | null }>>();
  for (const entry of entries) {
    const key = `${entry.action}\u0000${entry.subject}`;
    const list = unused.get(key) ?? [];
    list.push({ at: Date.parse(entry.at), actor: entry.actor });
    unused.set(key, list);
  }
  for (const list of unused.values()) list.sort((a, b) => a.at - b.at);
  const gaps: string[] = [];
  for (const line of [...owed].sort((a, b) => a.endedAt - b.endedAt)) {
    const found = line.owed.actions.some((action) => {
      const candidates = unused.get(`${action}\u0000${line.owed.subject}`) ?? [];
      const i = candidates.findIndex((entry) => matches(line, entry));
      if (i >= 0) candidates.splice(i, 1);
      return i >= 0;
    });
    if (!found) gaps.push(describeGap(line));
  }
  return gaps;
}

/** The record was made by the caller the request owes it from, while the request ran. */
function matches(line: AuditedRequestLine & { owed: OwedAuditRecord }, entry: { at: number; actor: string | null }): boolean {
  const { owed } = line;
  return (
    (owed.actor === undefined || entry.actor === owed.actor) &&
    (owed.actorPrefix === undefined || (entry.actor ?? '').startsWith(owed.actorPrefix)) &&
    entry.at >= line.startedAt - SLACK_MS &&
    entry.at <= line.endedAt + SLACK_MS
  );
}

function describeGap(line: AuditedRequestLine & { owed: OwedAuditRecord }): string {
  const by = line.owed.actor !== undefined ? ` by ${line.owed.actor}` : line.owed.actorPrefix ? ` by ${line.owed.actorPrefix}…` : '';
  return `${line.method} ${line.route} answered ${line.status} at ${new Date(line.endedAt).toISOString()} and has no ${line.owed.actions.join(' or ')} record of ${line.owed.subject}${by}`;
}

/** The requests of these APIs that owe a record. */
function owedIn(apis: readonly AuditedApi[]): AuditedRequestLine[] {
  const files = new Set(apis.map((api) => api.requestLog));
  return [...files].flatMap((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return []; // no request owed anything
    }
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as AuditedRequestLine)
      .filter((line) => line.owed !== undefined);
  });
}

function earliest(owed: readonly AuditedRequestLine[]): number {
  return owed.reduce((min, line) => Math.min(min, line.startedAt), Infinity);
}

/** GET /v1/audit, newest first, paged until the records are older than the oldest owed request. */
async function readTrail(api: AuditedApi, since: number): Promise<TrailRead> {
  const entries: AuditEntryView[] = [];
  let cursor: string | null = null;
  try {
    do {
      const query = `limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const response = await fetch(`${api.url}/v1/audit?${query}`, { headers: { authorization: `Bearer ${api.token}` }, signal: AbortSignal.timeout(READ_TIMEOUT_MS) });
      if (response.status !== 200) return { error: `GET /v1/audit answered ${response.status}` };
      const page = (await response.json()) as AuditPage;
      entries.push(...page.items);
      const oldest = page.items.at(-1);
      cursor = oldest && Date.parse(oldest.at) >= since - SLACK_MS ? page.nextCursor : null;
    } while (cursor);
  } catch (error) {
    return { error: `GET /v1/audit failed: ${(error as Error).message}` };
  }
  return { entries };
}

/** A database URL without its password, for a failure message. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'its database';
  }
}
