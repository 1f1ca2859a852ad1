// The guest kernel runInGuest boots, prepared (downloaded, unpacked, initramfs built) once and
// cached by prepare.sh under .fleettrace/guest/.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface GuestKernel {
  /** Debian package the kernel comes from, e.g. linux-image-6.1.0-56-amd64. */
  package: string;
  /** `uname -r` in the guest. */
  release: string;
  /** Uncompressed kernel (ELF with a PVH entry: QEMU boots it directly). */
  vmlinux: string;
  initrd: string;
  /** The kernel's build configuration. */
  config: string;
  /** CONFIG_LSM: the LSMs active when the command line has no lsm=. */
  defaultLsm: string;
}

const PREPARE_SCRIPT = fileURLToPath(new URL('./prepare.sh', import.meta.url));
// prepare.sh's exit status for "no guest kernel can be had here" (as opposed to a failure).
const EXIT_UNAVAILABLE = 3;

/** No guest can run on this machine: QEMU missing, or the kernel package cannot be had (no apt access). */
export class GuestUnavailableError extends Error {
  override name = 'GuestUnavailableError';
}

let prepared: Promise<GuestKernel> | undefined;

/** Prepares the guest kernel (idempotent, cached on disk and per process). */
export function prepareGuestKernel(): Promise<GuestKernel> {
  prepared ??= new Promise<GuestKernel>((resolve, reject) => {
    execFile('bash', [PREPARE_SCRIPT], { encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(JSON.parse(readFileSync(stdout.trim(), 'utf8')) as GuestKernel);
      const why = stderr.trim() || err.message;
      reject(err.code === EXIT_UNAVAILABLE ? new GuestUnavailableError(why) : new Error(`preparing the guest kernel failed: ${why}`));
    });
  });
  prepared.catch(() => (prepared = undefined));
  return prepared;
}

/**
 * Why guests cannot run here, or undefined when they can (the kernel is then prepared). Only a
 * truly missing prerequisite is a reason; a failing preparation rejects.
 */
export async function guestUnavailableReason(): Promise<string | undefined> {
  // The guest is Debian's amd64 kernel, emulated by qemu-system-x86_64: another machine has none.
  if (process.arch !== 'x64') return 'the guest kernel is x86-64';
  if (spawnSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' }).status !== 0) {
    return 'qemu-system-x86_64 is not installed (infra/scripts/ensure-system.sh installs qemu-system-x86)';
  }
  try {
    await prepareGuestKernel();
    return undefined;
  } catch (err) {
    if (err instanceof GuestUnavailableError) return err.message;
    throw err;
  }
}
