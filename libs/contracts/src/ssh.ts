import { z } from 'zod';
import { apiComponent } from './api-components';
import { HostId } from './host';

/**
 * Hosts reached over SSH (issue 12): how one is enrolled, what the SSH gateways read to reach it,
 * and what a gateway reports back when it first meets the host.
 */

/** OpenSSH's way of naming a host key: `SHA256:` and the unpadded base64 of the key's SHA-256. */
export const SSH_FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
/** Trust the key the host shows at its first probe, pin it, and audit that. Only when asked for. */
export const FIRST_USE = 'first-use';

export const SshFingerprint = z.string().regex(SSH_FINGERPRINT, 'hostKey must be a SHA256:… fingerprint (as ssh-keygen -lf prints it) or "first-use"');

/** `host:port`, `[v6]:port`; the port is required so that no default hides which sshd is meant. */
export function parseSshAddress(address: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9][A-Za-z0-9.-]{0,252}))(?::(\d{1,5}))$/.exec(address);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1] ?? match[2], port };
}

/** A login name as POSIX portable user names go: never an option to ssh, never a shell word. */
const SSH_USER = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

export const EnrolSshHostRequest = z
  .object({
    name: HostId.describe('the host id as well'),
    address: z.string().refine((a) => parseSshAddress(a) !== undefined, 'address must be host:port (a name or an IPv4 address, or [IPv6]:port)'),
    user: z.string().regex(SSH_USER, 'user must be a login name of 1-32 of [A-Za-z0-9_.-], not starting with a digit, dot or dash'),
    labels: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,63}$/, 'labels keys must be 1-63 of [A-Za-z0-9_.-]'), z.string().max(256, 'labels values must be at most 256 characters')).default({}),
    hostKey: z.string().refine((key) => key === FIRST_USE || SSH_FINGERPRINT.test(key), 'hostKey must be a SHA256:… fingerprint (as ssh-keygen -lf prints it) or "first-use"'),
  })
  .strict();
export type EnrolSshHostRequest = z.input<typeof EnrolSshHostRequest>;

export const SshEnrolmentState = z.enum(['pending', 'enrolled', 'refused']);
export type SshEnrolmentState = z.infer<typeof SshEnrolmentState>;

/** An SSH host as the API answers for it: never a private key, which the API never has. */
export const SshHostView = apiComponent(
  'SshHostView',
  z.object({
    id: z.string(),
    name: z.string(),
    address: z.string(),
    user: z.string(),
    labels: z.record(z.string(), z.string()),
    /** The pinned fingerprint; null while a first-use enrolment waits for its first probe. */
    hostKey: z.string().nullable(),
    trust: z.enum(['pinned', 'first-use']),
    /** pending until a gateway first reached the host; refused when that first probe failed for good (see error). */
    state: SshEnrolmentState,
    error: z.string().nullable(),
    enrolledAt: z.string(),
    /** Its daemon, once bootstrapped over SSH (POST /v1/hosts/ssh/:id/bootstrap); null while it is reached over SSH. */
    daemon: z
      .object({
        state: z.enum(['installing', 'registered', 'failed', 'uninstalling']),
        /** install or uninstall: what the state is of. */
        action: z.enum(['install', 'uninstall']),
        /** Why it failed; null otherwise. */
        error: z.string().nullable(),
        /** How it runs: its systemd unit, or (a host without systemd) a process the gateway started, with its PID. */
        mode: z.enum(['systemd', 'process']).nullable(),
        pid: z.number().int().nullable(),
        requestedAt: z.string(),
      })
      .nullable()
      .optional(),
  }),
);
export type SshHostView = z.infer<typeof SshHostView>;

/** What the SSH gateways read to reach a host: one entry per host in a Redis hash the API keeps. */
export const SshHostEntry = z.object({
  id: HostId,
  name: z.string(),
  host: z.string(),
  port: z.number().int().min(1).max(65535),
  user: z.string().regex(SSH_USER),
  labels: z.record(z.string(), z.string()),
  /** The fingerprint the host must show, or FIRST_USE until the first probe pinned one. */
  hostKey: z.union([z.literal(FIRST_USE), SshFingerprint]),
  /**
   * A daemon asked for on this host (install) or asked away (uninstall). While one is installed,
   * or being installed or removed, no gateway serves the host over SSH (servedOverSsh).
   */
  daemon: z
    .object({
      action: z.enum(['install', 'uninstall']),
      requestId: z.string().uuid(),
      requestedAt: z.number(),
      /** The API the daemon enrols at and reaches (install only). */
      apiUrl: z.string().url().optional(),
    })
    .optional(),
});
export type SshHostEntry = z.infer<typeof SshHostEntry>;
export type SshDaemonRequest = NonNullable<SshHostEntry['daemon']>;

/**
 * How far a gateway got with a host's daemon request (hash `sshDaemonProgressKey`, field: host id):
 * written by the gateway that took the request, read by the API and by every gateway.
 */
export const SshDaemonProgress = z.object({
  requestId: z.string().uuid(),
  action: z.enum(['install', 'uninstall']),
  /** working: taken by a gateway; started: the daemon runs and holds its own credentials; done: uninstalled. */
  state: z.enum(['working', 'started', 'failed', 'done']),
  error: z.string().optional(),
  mode: z.enum(['systemd', 'process']).optional(),
  pid: z.number().int().optional(),
  at: z.number(),
});
export type SshDaemonProgress = z.infer<typeof SshDaemonProgress>;

export function sshDaemonProgressKey(prefix: string): string {
  return `${prefix}:ssh-daemon-progress`;
}

/**
 * Where the API leaves a bootstrap's one-time enrolment token for the gateway, briefly (it expires
 * with the token's own short life): the gateway that takes it (GETDEL) is the one that installs.
 */
export function sshDaemonTokenKey(prefix: string, hostId: string, requestId: string): string {
  return `${prefix}:ssh-daemon-token:${hostId}:${requestId}`;
}

/** Of the progress, the part that answers this request (an older request's is not). */
export function progressOf(request: SshDaemonRequest | undefined, progress: SshDaemonProgress | undefined): SshDaemonProgress | undefined {
  return request && progress?.requestId === request.requestId && progress.action === request.action ? progress : undefined;
}

/**
 * Whether gateways serve the host over SSH: unless a daemon is installed or being installed or
 * removed there. An install that failed, and an uninstall that finished, give the host back.
 */
export function servedOverSsh(entry: SshHostEntry, progress: SshDaemonProgress | undefined): boolean {
  const request = entry.daemon;
  if (!request) return true;
  const own = progressOf(request, progress);
  return request.action === 'install' ? own?.state === 'failed' : own?.state === 'done';
}

export function sshHostsKey(prefix: string): string {
  return `${prefix}:ssh-hosts`;
}

/**
 * A gateway's first meeting with an enrolled host (and any later one that failed): the key it
 * showed, or why the host could not be reached. Ingest pins a first-use key and audits it, marks the
 * enrolment enrolled or refused.
 */
export const SshProbeMessage = z.object({
  type: z.literal('ssh-probe'),
  hostId: HostId,
  at: z.number(),
  /** The fingerprint the host presented, when the connection got that far. */
  hostKey: SshFingerprint.optional(),
  /** Why the probe failed (host key mismatch, authentication refused, unreachable, no root); unset when it succeeded. */
  error: z.string().optional(),
  /**
   * The failure is one that trying again will not mend (host key mismatch, authentication refused,
   * no root): the enrolment is refused. Otherwise (unreachable) it stays pending, with the error noted.
   */
  refused: z.boolean().optional(),
});
export type SshProbeMessage = z.infer<typeof SshProbeMessage>;
