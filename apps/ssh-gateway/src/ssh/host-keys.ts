import { createHash } from 'node:crypto';

/** One host key as ssh-keyscan prints it (`[host]:port type base64`). */
export interface ScannedKey {
  type: string;
  /** The key blob, base64, as it goes into a known_hosts line. */
  blob: string;
  fingerprint: string;
}

/** OpenSSH's SHA256 fingerprint: the unpadded base64 of the SHA-256 of the key blob. */
export function fingerprintOf(blobBase64: string): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(blobBase64, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/** The keys in ssh-keyscan's output; comment lines (the server's banner) are skipped. */
export function parseKeyscan(output: string): ScannedKey[] {
  const keys: ScannedKey[] = [];
  for (const line of output.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 3 || fields[0].startsWith('#')) continue;
    const [, type, blob] = fields;
    if (!/^[A-Za-z0-9+/]+=*$/.test(blob)) continue;
    keys.push({ type, blob, fingerprint: fingerprintOf(blob) });
  }
  return keys;
}

/** The host key algorithms ssh may negotiate to be shown exactly this key (an RSA key signs with SHA-2). */
export function hostKeyAlgorithmsFor(type: string): string {
  return type === 'ssh-rsa' ? 'rsa-sha2-512,rsa-sha2-256' : type;
}

/** Which key first use pins when a host has several: OpenSSH's own preference. */
const PREFERENCE = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'];

export function preferredKey(keys: readonly ScannedKey[]): ScannedKey | undefined {
  return [...keys].sort((a, b) => rank(a.type) - rank(b.type))[0];
}

function rank(type: string): number {
  const index = PREFERENCE.indexOf(type);
  return index === -1 ? PREFERENCE.length : index;
}

/** The known_hosts line that lets ssh accept this key, and only it, for host:port. */
export function knownHostsLine(host: string, port: number, key: ScannedKey): string {
  const name = port === 22 ? host : `[${host}]:${port}`;
  return `${name} ${key.type} ${key.blob}\n`;
}
