import { readFileSync } from 'node:fs';
import type { SshHostEntry } from '@fleettrace/contracts';
import { installBundle, REMOTE_RUNNER_ROOT, type UploadableBundle } from './runner-upload';
import type { SshSession } from './ssh/ssh-session';

/**
 * A fleettrace daemon installed on an SSH host by the gateway (POST /v1/hosts/ssh/:id/bootstrap),
 * and removed again. The daemon bundle (apps/node-daemon/dist/remote, made by `npm run build`) goes
 * into /var/lib/fleettrace/daemon-bundle-<sha256>/ as the runner's does; everything of this one
 * host's daemon lives in its own state directory, /var/lib/fleettrace/daemon-<host id>/: its
 * environment (with the one-time enrolment token until the daemon has spent it), the dispatch public key, the Redis credentials
 * the daemon gets by enrolling, and, without systemd, its PID and log. Every script here is a
 * constant; paths are its arguments, and the environment file reaches the host on stdin.
 */

export type DaemonBundle = UploadableBundle;

/** The daemon bundle built beside the gateway (FLEETTRACE_DAEMON_BUNDLE_DIR). */
export function daemonBundle(dir: string): DaemonBundle {
  let manifest: { sha256: string; files: string[] };
  try {
    manifest = JSON.parse(readFileSync(`${dir}/bundle.json`, 'utf8')) as typeof manifest;
  } catch (error) {
    throw new Error(`this gateway has no daemon bundle (${dir}/bundle.json: ${(error as Error).message}); run \`npm run build\``);
  }
  return { dir, sha256: manifest.sha256, files: manifest.files };
}

export function remoteDaemonBundleDir(bundle: Pick<DaemonBundle, 'sha256'>): string {
  return `${REMOTE_RUNNER_ROOT}/daemon-bundle-${bundle.sha256}`;
}

/** The daemon's own state directory (its FLEETTRACE_STATE_DIR/daemon-<id>, where it keeps its credentials). */
export function remoteDaemonHostDir(hostId: string): string {
  return `${REMOTE_RUNNER_ROOT}/daemon-${hostId}`;
}

/** Writes stdin to a file ($1) only root can read, mode $2, replaced whole. */
export const WRITE_FILE_SCRIPT = ['set -e', 'umask 077', 'mkdir -p "${1%/*}"', 'chmod 700 "${1%/*}"', 'cat > "$1.tmp"', 'chmod "$2" "$1.tmp"', 'mv -f "$1.tmp" "$1"'].join('\n');

/**
 * Starts the daemon from bundle $1 with host directory $2. With systemd: the hardened unit from
 * infra/systemd as shipped in the bundle, and a drop-in naming this bundle, this environment file
 * and the host's node. Without systemd (a container, the tests' loopback sshd): the same
 * capability bounding set and no_new_privs through setpriv, in its own session so it outlives the
 * SSH connection, its PID recorded for uninstall. The environment file is read line by line into
 * `export "NAME=value"`, so no value is ever evaluated by the shell.
 */
export const START_SCRIPT = [
  'set -e',
  'bundle=$1 dir=$2',
  'node=$(command -v node)',
  'printf %s "$bundle" > "$dir/bundle"',
  'if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then',
  '  unit=/etc/systemd/system/fleettrace-daemon.service',
  '  cp "$bundle/fleettrace-daemon.service" "$unit"',
  '  mkdir -p "$unit.d"',
  `  printf '[Service]\\nWorkingDirectory=%s\\nEnvironmentFile=%s\\nExecStart=\\nExecStart=%s --max-semi-space-size=1 %s\\n' "$bundle" "$dir/daemon.env" "$node" "$bundle/daemon.mjs" > "$unit.d/bootstrap.conf"`,
  '  echo systemd > "$dir/mode"',
  '  systemctl daemon-reload',
  '  systemctl enable --now fleettrace-daemon.service',
  '  echo "mode=systemd"',
  'else',
  '  echo process > "$dir/mode"',
  '  cd "$bundle"',
  '  (',
  '    while IFS= read -r line; do case $line in *=*) export "$line" ;; esac; done < "$dir/daemon.env"',
  '    exec setsid setpriv --no-new-privs --bounding-set -all,+bpf,+perfmon,+sys_resource,+sys_admin,+sys_ptrace,+dac_read_search,+chown,+setuid,+setgid -- "$node" --max-semi-space-size=1 "$bundle/daemon.mjs"',
  '  ) </dev/null >>"$dir/daemon.log" 2>&1 &',
  '  echo $! > "$dir/daemon.pid"',
  '  echo "mode=process"',
  'fi',
].join('\n');

/**
 * Removes the spent enrolment token from environment file $1, written anew (0600) and moved into
 * place: once the daemon has enrolled it uses its kept credentials (apps/node-daemon enrolment.ts),
 * and a restart does not need the token, so it does not stay on the host's disk.
 */
export const FORGET_TOKEN_SCRIPT = ['set -e', 'umask 077', `grep -v '^FLEETTRACE_ENROL_TOKEN=' "$1" > "$1.tmp" || true`, 'chmod 600 "$1.tmp"', 'mv -f "$1.tmp" "$1"'].join('\n');

/** Whether the daemon of host directory $1 runs, and whether it has enrolled (holds its own credentials). */
export const STATUS_SCRIPT = [
  'dir=$1',
  'mode=$(cat "$dir/mode" 2>/dev/null || echo none)',
  'if [ "$mode" = systemd ]; then pid=$(systemctl show -p MainPID --value fleettrace-daemon.service); else pid=$(cat "$dir/daemon.pid" 2>/dev/null || echo 0); fi',
  'echo "mode=$mode"',
  'echo "pid=${pid:-0}"',
  'if [ "${pid:-0}" != 0 ] && kill -0 "$pid" 2>/dev/null && ! grep -q "^State:.*Z" "/proc/$pid/status" 2>/dev/null; then echo alive=yes; else echo alive=no; fi',
  'if [ -s "$dir/redis-credentials.json" ]; then echo enrolled=yes; else echo enrolled=no; fi',
  'if [ "$mode" = systemd ]; then journalctl -u fleettrace-daemon.service -n 5 --no-pager 2>/dev/null | sed "s/^/log=/"; else tail -n 5 "$dir/daemon.log" 2>/dev/null | sed "s/^/log=/"; fi',
].join('\n');

/**
 * Stops and removes the daemon of host directory $1: its unit (systemd) or its process (by the
 * recorded PID, only while that PID is still our daemon: a reused PID is left alone), then the
 * directory (environment, credentials, PID, log) and the bundle it ran from.
 */
export const UNINSTALL_SCRIPT = [
  'dir=$1',
  'mode=$(cat "$dir/mode" 2>/dev/null || echo none)',
  'if [ "$mode" = systemd ]; then',
  '  unit=/etc/systemd/system/fleettrace-daemon.service',
  '  systemctl disable --now fleettrace-daemon.service || true',
  '  rm -rf "$unit" "$unit.d"',
  '  systemctl daemon-reload || true',
  // A daemon that ended failed (its Redis user is revoked before the gateway gets here) would stay
  // listed, failed, until reset: the host keeps no trace of the unit.
  '  systemctl reset-failed fleettrace-daemon.service 2>/dev/null || true',
  'elif [ -s "$dir/daemon.pid" ]; then',
  '  pid=$(cat "$dir/daemon.pid")',
  '  if grep -qa daemon.mjs "/proc/$pid/cmdline" 2>/dev/null; then',
  // SIGTERM: the daemon asks its runners to detach and report; it has the unit's TimeoutStopSec (60 s).
  '    kill -TERM "$pid" 2>/dev/null || true',
  '    i=0',
  '    while kill -0 "$pid" 2>/dev/null && ! grep -q "^State:.*Z" "/proc/$pid/status" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done',
  '    kill -KILL "$pid" 2>/dev/null || true',
  '  fi',
  'fi',
  'bundle=$(cat "$dir/bundle" 2>/dev/null || true)',
  'rm -rf "$dir"',
  'case $bundle in /var/lib/fleettrace/daemon-bundle-*) rm -rf "$bundle" ;; esac',
  'echo removed',
].join('\n');

export interface DaemonStatus {
  mode: 'systemd' | 'process' | 'none';
  pid: number;
  alive: boolean;
  enrolled: boolean;
  logTail: string;
}

export function parseDaemonStatus(output: string): DaemonStatus {
  const fields = new Map<string, string>();
  const log: string[] = [];
  for (const line of output.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const [name, value] = [line.slice(0, eq), line.slice(eq + 1)];
    if (name === 'log') log.push(value);
    else fields.set(name, value.trim());
  }
  const mode = fields.get('mode');
  return {
    mode: mode === 'systemd' || mode === 'process' ? mode : 'none',
    pid: Number(fields.get('pid')) || 0,
    alive: fields.get('alive') === 'yes',
    enrolled: fields.get('enrolled') === 'yes',
    logTail: log.join(' | ').slice(-1000),
  };
}

/**
 * The daemon's environment file: one NAME=value a line, read by systemd's EnvironmentFile or the
 * START_SCRIPT's loop, never by a shell's evaluation. A value with a line break would be two
 * lines, so it is refused.
 */
export function daemonEnvironment(entry: Pick<SshHostEntry, 'id' | 'name' | 'labels'>, settings: { apiUrl: string; token: string; dispatchKeyFile: string }): string {
  const env: Record<string, string> = {
    FLEETTRACE_HOST_ID: entry.id,
    FLEETTRACE_HOST_NAME: entry.name,
    FLEETTRACE_LABELS: Object.entries(entry.labels)
      .map(([key, value]) => `${key}=${value}`)
      .join(','),
    FLEETTRACE_API_URL: settings.apiUrl,
    FLEETTRACE_ENROL_TOKEN: settings.token,
    FLEETTRACE_DISPATCH_PUBLIC_KEY_FILE: settings.dispatchKeyFile,
    FLEETTRACE_STATE_DIR: REMOTE_RUNNER_ROOT,
    FLEETTRACE_CACHE_DIR: '/var/cache/fleettrace',
  };
  return Object.entries(env)
    .map(([name, value]) => {
      if (/[\r\n\0]/.test(value)) throw new RangeError(`${name} cannot hold a line break`);
      return `${name}=${value}\n`;
    })
    .join('');
}

export interface InstallSettings {
  bundle: DaemonBundle;
  apiUrl: string;
  token: string;
  /** The PEM text of the API's dispatch-signing public key. */
  dispatchPublicKey: string;
  /** How long the daemon has to start and enrol. */
  registerTimeoutMs: number;
  pollMs: number;
}

/**
 * Installs and starts the daemon, and waits until it runs holding its own credentials (it enrolled;
 * its first heartbeat follows at once, and the API says `registered` when it sees it). A daemon
 * that exits or does not enrol in time is removed again, and the error carries its last log lines.
 */
export async function installDaemon(session: SshSession, entry: SshHostEntry, settings: InstallSettings): Promise<{ mode: 'systemd' | 'process'; pid: number }> {
  const bundleDir = remoteDaemonBundleDir(settings.bundle);
  const hostDir = remoteDaemonHostDir(entry.id);
  // What an earlier install left there (one aborted, or whose uninstall never reached the host) goes
  // first: its kept credentials would stand in for this install's enrolment, and a daemon would run
  // on a Redis user that no longer exists while this install waited for it to enrol.
  await uninstallDaemon(session, entry.id);
  await installBundle(session, settings.bundle, bundleDir, 'the daemon');
  const keyFile = `${hostDir}/dispatch-public-key.pem`;
  await must(session, 'writing the dispatch public key', ['sh', '-c', WRITE_FILE_SCRIPT, 'fleettrace-write', keyFile, '644'], settings.dispatchPublicKey);
  const env = daemonEnvironment(entry, { apiUrl: settings.apiUrl, token: settings.token, dispatchKeyFile: keyFile });
  await must(session, 'writing the daemon environment', ['sh', '-c', WRITE_FILE_SCRIPT, 'fleettrace-write', `${hostDir}/daemon.env`, '600'], env);
  try {
    await must(session, 'starting the daemon', ['sh', '-c', START_SCRIPT, 'fleettrace-start', bundleDir, hostDir]);
    const deadline = Date.now() + settings.registerTimeoutMs;
    for (;;) {
      const status = await daemonStatus(session, entry.id);
      if (status.alive && status.enrolled && status.mode !== 'none') {
        await must(session, 'removing the spent enrolment token', ['sh', '-c', FORGET_TOKEN_SCRIPT, 'fleettrace-forget-token', `${hostDir}/daemon.env`]);
        return { mode: status.mode, pid: status.pid };
      }
      if (!status.alive) throw new Error(`the daemon on ${session.address} exited before it enrolled${status.logTail ? `: ${status.logTail}` : ''}`);
      if (Date.now() > deadline) throw new Error(`the daemon on ${session.address} did not enrol within ${settings.registerTimeoutMs / 1000} s${status.logTail ? `: ${status.logTail}` : ''}`);
      await new Promise((resolve) => setTimeout(resolve, settings.pollMs));
    }
  } catch (error) {
    await uninstallDaemon(session, entry.id).catch(() => undefined);
    throw error;
  }
}

export async function daemonStatus(session: SshSession, hostId: string): Promise<DaemonStatus> {
  const result = await session.run(['sh', '-c', STATUS_SCRIPT, 'fleettrace-status', remoteDaemonHostDir(hostId)]);
  return parseDaemonStatus(result.stdout);
}

export async function uninstallDaemon(session: SshSession, hostId: string): Promise<void> {
  await must(session, 'removing the daemon', ['sh', '-c', UNINSTALL_SCRIPT, 'fleettrace-uninstall', remoteDaemonHostDir(hostId)]);
}

async function must(session: SshSession, what: string, argv: string[], input?: string): Promise<string> {
  const result = await session.run(argv, input);
  if (result.code !== 0) throw new Error(`${what} on ${session.address} failed (exit ${result.code}): ${result.stderr.trim().slice(-500)}`);
  return result.stdout;
}
