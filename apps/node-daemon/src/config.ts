import { hostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { DEFAULT_REDIS_PREFIX, HostId, otlpSignalUrl } from '@fleettrace/contracts';
import { UsageError } from '@fleettrace/host-agent/service';

export interface DaemonConfig {
  hostId: string;
  name: string;
  labels: Record<string, string>;
  /** Absolute cgroup-v2 path whose subtree alone this daemon traces; null traces the whole machine. */
  cgroupPath: string | null;
  redisUrl: string;
  redisPrefix: string;
  /** Runs executed at once on this host; each is its own runner process. */
  concurrency: number;
  /** Where GET /metrics is served (Prometheus text); undefined serves nothing. */
  metricsListen?: { host: string; port: number };
  /**
   * PEM file of the API's Ed25519 public key: the daemon runs only dispatches it signed. Unset is a
   * usage error at start (requireDispatchKey), so a daemon never runs unverified work.
   */
  dispatchKeyFile?: string;
  /**
   * A one-time enrolment token (POST /v1/hosts/enrolments) and the API to spend it at: the daemon
   * then uses its own Redis user (enrolment.ts). Give the token by environment
   * (FLEETTRACE_ENROL_TOKEN): a flag's value shows in `ps`.
   */
  enrolToken?: string;
  apiUrl?: string;
  /** Where this daemon's own run spans go (OTLP http/protobuf, from the standard OTEL_* variables); undefined exports none. */
  tracesUrl?: string;
}

export class DaemonUsageError extends UsageError {}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new DaemonUsageError(`--labels must be k=v[,k=v...], got "${pair}"`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}

/**
 * Flags win over environment variables (FLEETTRACE_HOST_ID, FLEETTRACE_REDIS_URL, ...), so a
 * systemd unit can set the environment and a developer can still override one thing by hand.
 */
export function parseDaemonArgs(argv: string[], env: NodeJS.ProcessEnv, cgroup2Root: () => string): DaemonConfig {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new DaemonUsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    if (eq > 0) flags.set(arg.slice(2, eq), arg.slice(eq + 1));
    else {
      const value = argv[++i];
      if (value === undefined) throw new DaemonUsageError(`${arg} needs a value`);
      flags.set(arg.slice(2), value);
    }
  }
  const known = new Set(['id', 'name', 'labels', 'cgroup', 'redis-url', 'redis-prefix', 'concurrency', 'metrics-listen', 'dispatch-key', 'enrol-token', 'api-url']);
  for (const flag of flags.keys()) if (!known.has(flag)) throw new DaemonUsageError(`unknown flag --${flag}`);

  const hostId = flags.get('id') ?? env.FLEETTRACE_HOST_ID ?? hostname();
  const parsedId = HostId.safeParse(hostId);
  if (!parsedId.success) throw new DaemonUsageError(`--id: ${parsedId.error.issues[0].message}`);
  const cgroup = flags.get('cgroup') ?? env.FLEETTRACE_CGROUP ?? null;
  const concurrency = Number(flags.get('concurrency') ?? env.FLEETTRACE_CONCURRENCY ?? 4);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new DaemonUsageError('--concurrency must be a positive integer');
  return {
    hostId,
    name: flags.get('name') ?? env.FLEETTRACE_HOST_NAME ?? hostId,
    labels: parseLabels(flags.get('labels') ?? env.FLEETTRACE_LABELS ?? ''),
    cgroupPath: cgroup === null ? null : isAbsolute(cgroup) ? cgroup : join(cgroup2Root(), cgroup),
    redisUrl: flags.get('redis-url') ?? env.FLEETTRACE_REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisPrefix: flags.get('redis-prefix') ?? env.FLEETTRACE_REDIS_PREFIX ?? DEFAULT_REDIS_PREFIX,
    concurrency,
    metricsListen: parseListen(flags.get('metrics-listen') ?? env.FLEETTRACE_METRICS_LISTEN),
    ...optional('dispatchKeyFile', flags.get('dispatch-key') ?? env.FLEETTRACE_DISPATCH_PUBLIC_KEY_FILE),
    ...optional('enrolToken', flags.get('enrol-token') ?? env.FLEETTRACE_ENROL_TOKEN),
    ...optional('apiUrl', flags.get('api-url') ?? env.FLEETTRACE_API_URL),
    ...optional('tracesUrl', tracesUrl(env)),
  };
}

function tracesUrl(env: NodeJS.ProcessEnv): string | undefined {
  try {
    return otlpSignalUrl(env, 'traces');
  } catch (error) {
    throw new DaemonUsageError((error as Error).message);
  }
}

function optional<K extends string>(key: K, value: string | undefined): { [k in K]?: string } {
  return value ? ({ [key]: value } as { [k in K]?: string }) : {};
}

/** The key the daemon verifies every dispatch with; it does not start without one. */
export function requireDispatchKey(config: DaemonConfig): string {
  if (!config.dispatchKeyFile) throw new DaemonUsageError("--dispatch-key (or FLEETTRACE_DISPATCH_PUBLIC_KEY_FILE) is required: the PEM file of the API's dispatch-signing public key");
  return config.dispatchKeyFile;
}

/** host:port, [v6]:port; a bare port listens on localhost only (a scraper elsewhere must ask for more). */
function parseListen(text: string | undefined): { host: string; port: number } | undefined {
  if (text === undefined || text === '') return undefined;
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port > 65535) throw new DaemonUsageError(`--metrics-listen must be [host:]port, got "${text}"`);
  return { host: match[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', port };
}
