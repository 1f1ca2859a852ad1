import type { KeyObject } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import {
  DEFAULT_REDIS_PREFIX,
  DEFAULT_START_DEADLINE_SECONDS,
  DEFAULT_SLOT_WAIT_SECONDS,
  MAX_DURATION_SECONDS,
  MAX_EVENTS_PER_SECOND,
  MAX_MAP_MEMORY_BYTES,
  MAX_OVERHEAD_BUDGET_PERCENT,
  parseBinaryPrefixes,
  type LimitsPolicy,
} from '@fleettrace/contracts';
import { otlpExportFromEnv, type OtlpExportConfig } from './telemetry/otlp-config';
import { readDispatchSigningKey } from './utils/dispatch-signer';
import type { LingerLimits } from './middleware/client-error';

export const ROLES = ['http', 'worker'] as const;
export type Role = (typeof ROLES)[number];

/** Everything the API reads from its environment, resolved once at start. */
export interface ApiConfig {
  databaseUrl: string;
  /**
   * PostgreSQL connections this process keeps at most. No request or task holds one connection
   * while it waits for another, so any size ≥ 1 is correct (apps/api/test/pool-of-one.test.ts);
   * size buys concurrency. Default DEFAULT_DATABASE_POOL_SIZE.
   */
  databasePoolSize?: number;
  redisUrl: string;
  /** BullMQ key prefix and the prefix of the results stream. */
  redisPrefix: string;
  adminToken: string;
  /**
   * The key API token secrets are stored under (HMAC-SHA256). Unset: derived from the admin token,
   * so changing FLEETTRACE_ADMIN_TOKEN then also invalidates every token made through the API.
   */
  tokenKey?: string;
  /** Failed authentications one client address may make per window before it is answered 429. */
  authFailureLimit: number;
  authFailureWindowSeconds: number;
  httpPort: number;
  httpHost: string;
  roles: ReadonlySet<Role>;
  /** Server policy: jobs may not run longer than this (never above the wire format's ceiling). */
  maxDurationSeconds: number;
  /**
   * Server policy for a job's `limits` overrides: the highest each may ask for (never above the
   * wire format's ceilings). Unset: the ceilings of libs/contracts limits.ts.
   */
  limitsPolicy?: Partial<LimitsPolicy>;
  /** Seconds a host gets to start a run before it is marked missed. */
  startDeadlineSeconds: number;
  /** Seconds a run may wait pending for a free run slot on its host before it ends missed. */
  slotWaitSeconds: number;
  /** Name of this process in the ingest consumer group; stable across restarts so its pending entries come back. */
  ingestConsumer: string;
  /** How often the reaper looks for runs no host started or no host finishes. */
  reaperIntervalMs: number;
  /** Slack past a start deadline before a queued run counts as missed (a host's clock and the queue may lag). */
  missedSlackSeconds: number;
  /** Slack past a run's end deadline before a silent run counts as timed out. */
  silenceSlackSeconds: number;
  /** A schedule firing delivered later than this after its due time was missed (no API process was up): recorded skipped. */
  scheduleLateSeconds: number;
  /** A run's events are deleted this many days after the run finished; its outputs and summary stay. */
  eventsRetentionDays: number;
  /** How often the worker looks for events past their retention. */
  retentionIntervalMs: number;
  /** How often ingest trims from the results stream what every consumer has acked. */
  streamTrimIntervalMs: number;
  /** How long a request waits for Redis to accept its runs (or a cancel) before it fails instead of hanging. */
  enqueueTimeoutMs: number;
  /**
   * How long a SIGTERM/SIGINT shutdown may take before the process exits anyway (1): closing waits for
   * Redis and PostgreSQL, which may be gone for good, and a process that never stops is worse than one
   * that stops with work its queues and the reaper will redo.
   */
  shutdownTimeoutMs: number;
  /** How long a connection the API closes is still read (middleware/client-error.ts); default LINGER_LIMITS. Tests change it. */
  lingerLimits?: LingerLimits;
  /** Run outputs as OpenTelemetry (telemetry/otlp-config.ts); unset is off. */
  otlpExport?: OtlpExportConfig;
  /**
   * The Redis URL enrolled hosts are given (with their own user and password put in), when they
   * reach Redis by another address or scheme (rediss://) than the API; default: the API's own.
   */
  hostRedisUrl?: string;
  /** FLEETTRACE_HOST_API_URL: where daemons bootstrapped over SSH reach this API; unset, the URL the bootstrap request came to. */
  hostApiUrl?: string;
  /** Ed25519 private key every run dispatch is signed with; hosts hold its public half and run nothing else. */
  dispatchSigningKey: KeyObject;
  /**
   * Directories a catalog program's binary param may name a file under (FLEETTRACE_BINARY_PREFIXES,
   * colon-separated). Unset: DEFAULT_BINARY_PREFIXES of libs/contracts program-policy.ts.
   */
  binaryPrefixes?: readonly string[];
  /**
   * Of one host's refused reports of one reason (ingest.refuse), the first of each window is audited
   * in full and the rest as one summary record with their count when the window ends: a host
   * flooding its own stream cannot flood the audit table. Every one is counted in the metric.
   */
  refusalAuditWindowMs: number;
  /**
   * For tests (FLEETTRACE_AUDITED_REQUEST_LOG): a file the API appends, for each request, the audit
   * record it owes (middleware/audited-request-log.ts). Unset in production: no hook at all.
   */
  auditedRequestLog?: string;
}


const DEFAULT_EVENTS_RETENTION_DAYS = 7;
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

const EnvSchema = z.object({
  FLEETTRACE_DATABASE_URL: z.string({ error: 'FLEETTRACE_DATABASE_URL is required' }).min(1, 'FLEETTRACE_DATABASE_URL is required'),
  FLEETTRACE_REDIS_URL: z.string({ error: 'FLEETTRACE_REDIS_URL is required' }).min(1, 'FLEETTRACE_REDIS_URL is required'),
  FLEETTRACE_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'FLEETTRACE_REDIS_PREFIX must be made of [A-Za-z0-9_.-]')
    .default(DEFAULT_REDIS_PREFIX),
  FLEETTRACE_ADMIN_TOKEN: z
    .string({ error: 'FLEETTRACE_ADMIN_TOKEN is required' })
    .min(1, 'FLEETTRACE_ADMIN_TOKEN is required'),
  FLEETTRACE_DISPATCH_SIGNING_KEY_FILE: z
    .string({ error: 'FLEETTRACE_DISPATCH_SIGNING_KEY_FILE is required (a PEM Ed25519 private key: openssl genpkey -algorithm ed25519)' })
    .min(1, 'FLEETTRACE_DISPATCH_SIGNING_KEY_FILE is required'),
  FLEETTRACE_HOST_REDIS_URL: z.string().url('FLEETTRACE_HOST_REDIS_URL must be a redis:// or rediss:// URL').optional(),
  FLEETTRACE_HOST_API_URL: z.string().url('FLEETTRACE_HOST_API_URL must be an http:// or https:// URL').optional(),
  FLEETTRACE_TOKEN_KEY: z.string().min(32, 'FLEETTRACE_TOKEN_KEY must be at least 32 characters').optional(),
  FLEETTRACE_AUTH_FAILURE_LIMIT: positiveInt.default(20),
  FLEETTRACE_AUTH_FAILURE_WINDOW_SECONDS: positiveInt.default(60),
  FLEETTRACE_HTTP_PORT: port.default(8080),
  FLEETTRACE_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  FLEETTRACE_ROLES: z.string().default('http,worker'),
  FLEETTRACE_MAX_DURATION_SECONDS: positiveInt
    .max(MAX_DURATION_SECONDS, `FLEETTRACE_MAX_DURATION_SECONDS must be at most ${MAX_DURATION_SECONDS}`)
    .default(MAX_DURATION_SECONDS),
  FLEETTRACE_START_DEADLINE_SECONDS: positiveInt.default(DEFAULT_START_DEADLINE_SECONDS),
  FLEETTRACE_SLOT_WAIT_SECONDS: positiveInt.default(DEFAULT_SLOT_WAIT_SECONDS),
  FLEETTRACE_MAX_MAP_MEMORY_BYTES: positiveInt
    .max(MAX_MAP_MEMORY_BYTES, `FLEETTRACE_MAX_MAP_MEMORY_BYTES must be at most ${MAX_MAP_MEMORY_BYTES}`)
    .default(MAX_MAP_MEMORY_BYTES),
  FLEETTRACE_MAX_EVENTS_PER_SECOND: positiveInt
    .max(MAX_EVENTS_PER_SECOND, `FLEETTRACE_MAX_EVENTS_PER_SECOND must be at most ${MAX_EVENTS_PER_SECOND}`)
    .default(MAX_EVENTS_PER_SECOND),
  FLEETTRACE_MAX_OVERHEAD_BUDGET_PERCENT: z.coerce
    .number()
    .positive()
    .max(MAX_OVERHEAD_BUDGET_PERCENT, `FLEETTRACE_MAX_OVERHEAD_BUDGET_PERCENT must be at most ${MAX_OVERHEAD_BUDGET_PERCENT}`)
    .default(MAX_OVERHEAD_BUDGET_PERCENT),
  // The budget of a job that does not ask for one; a fleet of busy hosts may need more than 2 %.
  FLEETTRACE_DEFAULT_OVERHEAD_BUDGET_PERCENT: z.coerce
    .number()
    .positive()
    .max(MAX_OVERHEAD_BUDGET_PERCENT, `FLEETTRACE_DEFAULT_OVERHEAD_BUDGET_PERCENT must be at most ${MAX_OVERHEAD_BUDGET_PERCENT}`)
    .optional(),
  FLEETTRACE_INGEST_CONSUMER: z.string().min(1).optional(),
  FLEETTRACE_DATABASE_POOL_SIZE: positiveInt.optional(),
  FLEETTRACE_SCHEDULE_LATE_SECONDS: positiveInt.default(30),
  FLEETTRACE_EVENTS_RETENTION_DAYS: z.coerce.number().positive('FLEETTRACE_EVENTS_RETENTION_DAYS must be more than 0').default(DEFAULT_EVENTS_RETENTION_DAYS),
  FLEETTRACE_BINARY_PREFIXES: z.string().optional(),
  FLEETTRACE_REFUSAL_AUDIT_WINDOW_SECONDS: positiveInt.default(60),
  FLEETTRACE_AUDITED_REQUEST_LOG: z.string().min(1).optional(),
  FLEETTRACE_SHUTDOWN_TIMEOUT_SECONDS: positiveInt.optional(),
});

export function parseRoles(text: string): ReadonlySet<Role> {
  const roles = new Set<Role>();
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    if (!(ROLES as readonly string[]).includes(part)) {
      throw new Error(`FLEETTRACE_ROLES: unknown role "${part}" (known: ${ROLES.join(', ')})`);
    }
    roles.add(part as Role);
  }
  if (roles.size === 0) throw new Error('FLEETTRACE_ROLES must name at least one role');
  return roles;
}

/** Defaults for the knobs that only tests and operators tuning the reaper change. */
export const DEFAULT_TIMINGS = {
  reaperIntervalMs: 1000,
  missedSlackSeconds: 5,
  silenceSlackSeconds: 30,
  scheduleLateSeconds: 30,
  eventsRetentionDays: DEFAULT_EVENTS_RETENTION_DAYS,
  retentionIntervalMs: 15 * 60_000,
  streamTrimIntervalMs: 10_000,
  enqueueTimeoutMs: 10_000,
  // Under Kubernetes' default terminationGracePeriodSeconds (30), so the process says why before a SIGKILL.
  shutdownTimeoutMs: 20_000,
  authFailureLimit: 20,
  authFailureWindowSeconds: 60,
  refusalAuditWindowMs: 60_000,
} as const;

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid configuration: ${parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ')}`);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.FLEETTRACE_DATABASE_URL,
    ...(e.FLEETTRACE_DATABASE_POOL_SIZE ? { databasePoolSize: e.FLEETTRACE_DATABASE_POOL_SIZE } : {}),
    redisUrl: e.FLEETTRACE_REDIS_URL,
    redisPrefix: e.FLEETTRACE_REDIS_PREFIX,
    adminToken: e.FLEETTRACE_ADMIN_TOKEN,
    ...(e.FLEETTRACE_TOKEN_KEY ? { tokenKey: e.FLEETTRACE_TOKEN_KEY } : {}),
    httpPort: e.FLEETTRACE_HTTP_PORT,
    httpHost: e.FLEETTRACE_HTTP_HOST,
    roles: parseRoles(e.FLEETTRACE_ROLES),
    maxDurationSeconds: e.FLEETTRACE_MAX_DURATION_SECONDS,
    startDeadlineSeconds: e.FLEETTRACE_START_DEADLINE_SECONDS,
    slotWaitSeconds: e.FLEETTRACE_SLOT_WAIT_SECONDS,
    limitsPolicy: {
      maxMapMemoryBytes: e.FLEETTRACE_MAX_MAP_MEMORY_BYTES,
      maxEventsPerSecond: e.FLEETTRACE_MAX_EVENTS_PER_SECOND,
      maxOverheadBudgetPercent: e.FLEETTRACE_MAX_OVERHEAD_BUDGET_PERCENT,
      defaultOverheadBudgetPercent: e.FLEETTRACE_DEFAULT_OVERHEAD_BUDGET_PERCENT,
    },
    ingestConsumer: e.FLEETTRACE_INGEST_CONSUMER ?? hostname(),
    ...DEFAULT_TIMINGS,
    scheduleLateSeconds: e.FLEETTRACE_SCHEDULE_LATE_SECONDS,
    eventsRetentionDays: e.FLEETTRACE_EVENTS_RETENTION_DAYS,
    otlpExport: otlpExportFromEnv(env),
    authFailureLimit: e.FLEETTRACE_AUTH_FAILURE_LIMIT,
    authFailureWindowSeconds: e.FLEETTRACE_AUTH_FAILURE_WINDOW_SECONDS,
    ...(e.FLEETTRACE_HOST_REDIS_URL ? { hostRedisUrl: e.FLEETTRACE_HOST_REDIS_URL } : {}),
    ...(e.FLEETTRACE_HOST_API_URL ? { hostApiUrl: e.FLEETTRACE_HOST_API_URL } : {}),
    dispatchSigningKey: readDispatchSigningKey(e.FLEETTRACE_DISPATCH_SIGNING_KEY_FILE),
    ...(e.FLEETTRACE_BINARY_PREFIXES !== undefined ? { binaryPrefixes: parseBinaryPrefixes(e.FLEETTRACE_BINARY_PREFIXES) } : {}),
    refusalAuditWindowMs: e.FLEETTRACE_REFUSAL_AUDIT_WINDOW_SECONDS * 1000,
    ...(e.FLEETTRACE_SHUTDOWN_TIMEOUT_SECONDS ? { shutdownTimeoutMs: e.FLEETTRACE_SHUTDOWN_TIMEOUT_SECONDS * 1000 } : {}),
    ...(e.FLEETTRACE_AUDITED_REQUEST_LOG ? { auditedRequestLog: e.FLEETTRACE_AUDITED_REQUEST_LOG } : {}),
  };
}
