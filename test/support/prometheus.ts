import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait';

/** A real Prometheus server (Debian's `prometheus`) scraping one target every second. */
export interface PrometheusServer {
  url: string;
  /** Runs a PromQL instant query; the vector's samples as label set and value. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  close(): Promise<void>;
}

export interface ScrapeTarget {
  /** host:port */
  address: string;
  path: string;
  bearerToken: string;
}

/** What `promtool check <what>` says: its exit code and output. */
export function promtool(args: string[], input?: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { input, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

export function scrapeConfig(target: ScrapeTarget, tokenFile: string): string {
  return [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: fleettrace-api',
    `    metrics_path: ${target.path}`,
    '    authorization:',
    '      type: Bearer',
    `      credentials_file: ${tokenFile}`,
    '    static_configs:',
    `      - targets: ['${target.address}']`,
    '',
  ].join('\n');
}

export async function startPrometheus(target: ScrapeTarget): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'fleettrace-prometheus-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, target.bearerToken, { mode: 0o600 });
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, scrapeConfig(target, tokenFile));
  const checked = promtool(['check', 'config', configFile]);
  if (checked.status !== 0) throw new Error(`promtool check config failed: ${checked.output}`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor('prometheus to be ready', async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok, 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}: ${log}`);
  }
  return {
    url,
    async query(promql) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await response.json()) as { status: string; error?: string; data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error}`);
      return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async close() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Metric names in Prometheus text exposition (what a scrape serves), without HELP/TYPE lines. */
export function exposedNames(text: string): Set<string> {
  return new Set(text.split('\n').filter((line) => line && !line.startsWith('#')).map((line) => line.split(/[{ ]/, 1)[0]!));
}

const UNIT_SUFFIXES: Record<string, string> = { ns: 'nanoseconds', us: 'microseconds', ms: 'milliseconds', s: 'seconds', By: 'bytes' };

/**
 * The series names an OTLP metric gets in a Prometheus-compatible backend, by the OpenTelemetry
 * compatibility rules as the collector's Prometheus exporters and Mimir apply them by default:
 * `.` becomes `_`, the unit is appended in words (annotations in braces are dropped), monotonic
 * sums get `_total`, histograms `_bucket`, `_count` and `_sum`.
 */
export function prometheusNamesOf(metric: { name: string; unit: string; histogram?: unknown; sum?: { isMonotonic: boolean } }): string[] {
  let name = metric.name.replace(/[^a-zA-Z0-9_:]/g, '_');
  const unit = UNIT_SUFFIXES[metric.unit];
  if (unit && !name.endsWith(`_${unit}`)) name += `_${unit}`;
  if (metric.histogram) return ['_bucket', '_count', '_sum'].map((suffix) => name + suffix);
  if (metric.sum?.isMonotonic) return [`${name}_total`];
  return [name];
}

/** The metric names a PromQL expression reads: label matchers and grouping labels left out. */
export function metricNamesIn(promql: string): string[] {
  const bare = promql.replace(/\{[^}]*\}/g, '').replace(/\b(by|without)\s*\([^)]*\)/g, '');
  return [...new Set(bare.match(/\bfleettrace_[a-zA-Z0-9_:]+/g) ?? [])];
}
