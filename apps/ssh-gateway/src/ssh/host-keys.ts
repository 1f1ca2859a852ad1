import { createHash } from 'node:crypto';

/**
 * OpenSSH's SHA256 fingerprint (as `ssh-keygen -lf` prints it): the unpadded base64 of the SHA-256
 * of the key blob. The gateway pins a host by it and compares the key the host shows against it.
 */
export function fingerprintOf(blob: Buffer | string): string {
  const bytes = typeof blob === 'string' ? Buffer.from(blob, 'base64') : blob;
  return `SHA256:${createHash('sha256').update(bytes).digest('base64').replace(/=+$/, '')}`;
}
