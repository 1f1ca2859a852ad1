// What the processes this test process starts must never write to their logs. The stack records
// each service's log file as it starts it (startDetached) and each secret as it makes or receives
// one (the admin token, the dispatch private key, API tokens, enrolment tokens, hosts' Redis
// passwords); the e2e project's afterAll hook (test/support/secret-scan-hook.ts) greps every
// recorded log for every recorded secret and fails naming the file and line.
import { readFileSync } from 'node:fs';

export interface RecordedSecret {
  value: string;
  /** What it is, for the failure message (the value itself is never printed). */
  what: string;
}

export interface SecretFinding {
  file: string;
  line: number;
  what: string;
}

/** Shorter values would match by chance; every secret the stack makes is longer. */
const MIN_SECRET_LENGTH = 12;

const logFiles = new Set<string>();
const secrets = new Map<string, string>();
/** Secrets only known later, read from where a process keeps them (an enrolled daemon's credentials file). */
const lateSecrets: Array<() => RecordedSecret[]> = [];

export function recordLogFile(path: string): void {
  logFiles.add(path);
}

export function recordSecret(value: string | undefined, what: string): void {
  if (value && value.length >= MIN_SECRET_LENGTH && !secrets.has(value)) secrets.set(value, what);
}

export function recordLateSecrets(read: () => RecordedSecret[]): void {
  lateSecrets.push(read);
}

export function recordedLogFiles(): string[] {
  return [...logFiles];
}

export function recordedSecrets(): RecordedSecret[] {
  const all = new Map(secrets);
  for (const read of lateSecrets) for (const s of read()) if (s.value.length >= MIN_SECRET_LENGTH && !all.has(s.value)) all.set(s.value, s.what);
  return [...all].map(([value, what]) => ({ value, what }));
}

/** The password of a redis:// URL, if it has one. */
export function urlPassword(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password || undefined;
  } catch {
    return undefined;
  }
}

/** The base64 body of a PEM private key: the part a leak would show. */
export function pemBody(pem: string): string {
  return pem
    .split('\n')
    .filter((line) => line && !line.startsWith('-----'))
    .join('');
}

/** The secrets in an answer of the API: the only time it shows them (tokens, enrolments, a host's credentials). */
export function secretsInAnswer(method: string, path: string, status: number, body: unknown): RecordedSecret[] {
  if (method !== 'POST' || status < 200 || status >= 300 || typeof body !== 'object' || body === null) return [];
  const fields = body as Record<string, unknown>;
  const route = path.split('?')[0];
  const found: RecordedSecret[] = [];
  if (route === '/v1/tokens' && typeof fields.secret === 'string') found.push({ value: fields.secret, what: `API token ${String(fields.name ?? '')}`.trim() });
  if (route === '/v1/hosts/enrolments' && typeof fields.token === 'string') found.push({ value: fields.token, what: `enrolment token of ${String(fields.hostId ?? 'a host')}` });
  if (route === '/v1/hosts/enrol' && typeof fields.redisUrl === 'string') {
    const password = urlPassword(fields.redisUrl);
    if (password) found.push({ value: password, what: `Redis password of host ${String(fields.hostId ?? '')}`.trim() });
  }
  return found;
}

/** Every line of `files` holding one of `secrets` (a token also without its marker prefix). */
export function findSecrets(files: readonly string[], secretsToFind: readonly RecordedSecret[]): SecretFinding[] {
  const findings: SecretFinding[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // never written: the process failed before it opened it, or a test removed it
    }
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      for (const secret of secretsToFind) {
        if (line.includes(withoutMarker(secret.value))) findings.push({ file, line: i + 1, what: secret.what });
      }
    });
  }
  return findings;
}

/** A token without its `ft_`/`fte_` marker is as much a leak: look for its random part too. */
function withoutMarker(value: string): string {
  const rest = /^[a-z]+_(.+)$/.exec(value)?.[1];
  return rest && rest.length >= MIN_SECRET_LENGTH ? rest : value;
}

export function describeFindings(findings: readonly SecretFinding[]): string {
  return findings.map((f) => `${f.file}:${f.line}: holds the ${f.what}`).join('\n');
}
