import { DEFAULT_REDIS_PREFIX } from '@fleettrace/contracts';
import { UsageError } from '@fleettrace/host-agent/service';

export interface GatewayConfig {
  redisUrl: string;
  redisPrefix: string;
  /** Runs at once on one host. */
  concurrencyPerHost: number;
  /** Runs at once through this gateway, all hosts together. */
  concurrency: number;
  /**
   * Runners started ahead of time that may boot at once, all hosts together
   * (FLEETTRACE_SSH_STANDBY_BOOTS): after a job on many hosts each host starts its next runner,
   * and a burst of node starts on busy hosts (or on one machine) delays the runs that need one now.
   */
  standbyBoots: number;
  keyDir: string | undefined;
  agentSocket: string | undefined;
  probeIntervalMs: number;
  /** How often the gateway looks for enrolled and removed hosts. */
  refreshMs: number;
  connectTimeoutSeconds: number;
  keepaliveSeconds: number;
  /** FLEETTRACE_DISPATCH_PUBLIC_KEY_FILE: the API's dispatch-signing public key (PEM); required. */
  dispatchKeyFile: string;
  /** FLEETTRACE_DAEMON_BUNDLE_DIR: the daemon bundle bootstraps install (apps/node-daemon/dist/remote); none refuses them. */
  daemonBundleDir: string | undefined;
  /** How long a bootstrapped daemon has to start and enrol. */
  daemonRegisterTimeoutMs: number;
}

export class GatewayUsageError extends UsageError {}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new GatewayUsageError(`${name} must be a positive integer, got "${text}"`);
  return value;
}

function required(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const text = env[name];
  if (!text) throw new GatewayUsageError(`${name} is required: ${what}`);
  return text;
}

/** All from the environment, as a systemd unit or a container sets it. */
export function gatewayConfig(env: NodeJS.ProcessEnv): GatewayConfig {
  return {
    redisUrl: env.FLEETTRACE_REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisPrefix: env.FLEETTRACE_REDIS_PREFIX ?? DEFAULT_REDIS_PREFIX,
    concurrencyPerHost: positiveInteger(env, 'FLEETTRACE_SSH_CONCURRENCY_PER_HOST', 2),
    concurrency: positiveInteger(env, 'FLEETTRACE_SSH_CONCURRENCY', 32),
    standbyBoots: positiveInteger(env, 'FLEETTRACE_SSH_STANDBY_BOOTS', 2),
    keyDir: env.FLEETTRACE_SSH_KEY_DIR || undefined,
    agentSocket: env.SSH_AUTH_SOCK || undefined,
    probeIntervalMs: positiveInteger(env, 'FLEETTRACE_SSH_PROBE_SECONDS', 300) * 1000,
    refreshMs: positiveInteger(env, 'FLEETTRACE_SSH_REFRESH_MS', 2000),
    connectTimeoutSeconds: positiveInteger(env, 'FLEETTRACE_SSH_CONNECT_TIMEOUT_SECONDS', 10),
    keepaliveSeconds: positiveInteger(env, 'FLEETTRACE_SSH_KEEPALIVE_SECONDS', 15),
    daemonBundleDir: env.FLEETTRACE_DAEMON_BUNDLE_DIR || undefined,
    daemonRegisterTimeoutMs: positiveInteger(env, 'FLEETTRACE_DAEMON_REGISTER_TIMEOUT_SECONDS', 60) * 1000,
    dispatchKeyFile: required(env, 'FLEETTRACE_DISPATCH_PUBLIC_KEY_FILE', "the PEM file of the API's dispatch-signing public key"),
  };
}
