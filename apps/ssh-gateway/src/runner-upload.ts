import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import type { RemoteRunnerBundle } from '@fleettrace/runner';
import type { SshSession } from './ssh/ssh-session';

/** Where runner bundles live on a host, each in a directory named by its hash. */
export const REMOTE_RUNNER_ROOT = '/var/lib/fleettrace';
/** Written last, holding the hash: a directory without it is an upload that did not finish. */
export const COMPLETE_MARKER = '.complete';

export function remoteRunnerDir(bundle: Pick<RemoteRunnerBundle, 'sha256'>): string {
  return `${REMOTE_RUNNER_ROOT}/runner-${bundle.sha256}`;
}

/**
 * Moves a finished upload into place, as root: one constant script, its paths as arguments. Root
 * owns the result and only root may change it (the host's root runs it). A directory another
 * gateway completed meanwhile wins; an incomplete one (an upload cut short) is replaced.
 */
export const INSTALL_SCRIPT = [
  'set -e',
  'stage=$1 final=$2 sha=$3',
  `if [ "$(cat "$final/${COMPLETE_MARKER}" 2>/dev/null)" = "$sha" ]; then rm -rf "$stage"; exit 0; fi`,
  'mkdir -p "${final%/*}"',
  'chown -R 0:0 "$stage"',
  'chmod -R go-w,a+rX "$stage"',
  `printf '%s\\n' "$sha" > "$stage/${COMPLETE_MARKER}"`,
  'rm -rf "$final"',
  'mv -T "$stage" "$final"',
].join('\n');

const installed = new WeakMap<SshSession, Promise<string>>();

/**
 * The runner bundle's directory on the host behind `session`, uploaded first unless a complete copy
 * of this very bundle is there (its marker holds the bundle's hash): once per connection, however
 * many runs start at once.
 */
export function ensureRemoteRunner(session: SshSession, bundle: RemoteRunnerBundle): Promise<string> {
  let done = installed.get(session);
  if (!done) {
    done = install(session, bundle);
    installed.set(session, done);
    // A failed upload is tried again by the next run.
    done.catch(() => installed.delete(session));
  }
  return done;
}

async function install(session: SshSession, bundle: RemoteRunnerBundle): Promise<string> {
  const final = remoteRunnerDir(bundle);
  await installBundle(session, bundle, final, 'the runner');
  return final;
}

/** A directory of files to put on hosts under the name of its hash (the runner's, the daemon's). */
export type UploadableBundle = Pick<RemoteRunnerBundle, 'dir' | 'sha256' | 'files'>;

/**
 * Puts `bundle` at `final` on the host, unless a complete copy of this very bundle is there:
 * uploaded over SFTP into a private staging directory as the login user, then moved into place by
 * root (INSTALL_SCRIPT). `what` names it in errors.
 */
export async function installBundle(session: SshSession, bundle: UploadableBundle, final: string, what: string): Promise<void> {
  const marker = await session.run(['cat', `${final}/${COMPLETE_MARKER}`]);
  if (marker.code === 0 && marker.stdout.trim() === bundle.sha256) return;
  // Staged by the login user over SFTP (sudo does not reach SFTP), then moved into place as root.
  const stage = `/tmp/fleettrace-upload-${randomBytes(8).toString('hex')}`;
  const sftp = await session.sftp();
  try {
    await upload(sftp, bundle, stage);
  } catch (error) {
    await session.run(['rm', '-rf', stage]).catch(() => undefined);
    throw new Error(`uploading ${what} to ${session.address} failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    sftp.end();
  }
  const result = await session.run(['sh', '-c', INSTALL_SCRIPT, 'fleettrace-install', stage, final, bundle.sha256]);
  if (result.code !== 0) {
    await session.run(['rm', '-rf', stage]).catch(() => undefined);
    throw new Error(`installing ${what} in ${final} on ${session.address} failed (exit ${result.code}): ${result.stderr.trim().slice(0, 500)}`);
  }
}

async function upload(sftp: SFTPWrapper, bundle: UploadableBundle, stage: string): Promise<void> {
  // Made here, private to the login user: it fails if the name is taken, so nobody else's directory is written into.
  await call<void>((done) => sftp.mkdir(stage, { mode: 0o700 }, done));
  const made = new Set<string>([stage]);
  for (const file of bundle.files) {
    const target = posix.join(stage, file);
    const parents: string[] = [];
    for (let dir = posix.dirname(target); !made.has(dir); dir = posix.dirname(dir)) parents.unshift(dir);
    for (const dir of parents) {
      await call<void>((done) => sftp.mkdir(dir, { mode: 0o755 }, done));
      made.add(dir);
    }
    // Executable stays executable (the sandbox helper ft-sandbox): the install's `a+rX` keeps it so.
    const local = posix.join(bundle.dir, file);
    const mode = (statSync(local).mode & 0o111) !== 0 ? 0o755 : 0o644;
    await call<void>((done) => sftp.fastPut(local, target, { mode }, done));
  }
}

function call<T>(op: (done: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => op((error, value) => (error ? reject(error) : resolve(value as T))));
}
