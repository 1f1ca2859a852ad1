import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pemBody, recordSecret } from './secret-record';

/** The API signs dispatches with the private key; daemons and SSH gateways verify with the public one. */
export interface DispatchKeyFiles {
  privateKeyFile: string;
  publicKeyFile: string;
}

/** An Ed25519 key pair in `dir`, made on first use and kept (the local stack's survives `down`/`up`). */
export function dispatchKeyFiles(dir: string): DispatchKeyFiles {
  const files = { privateKeyFile: join(dir, 'dispatch-signing.key'), publicKeyFile: join(dir, 'dispatch-signing.pub') };
  if (existsSync(files.privateKeyFile) && existsSync(files.publicKeyFile)) return recorded(files);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(files.privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(files.publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  return recorded(files);
}

function recorded(files: DispatchKeyFiles): DispatchKeyFiles {
  recordSecret(pemBody(readFileSync(files.privateKeyFile, 'utf8')), 'dispatch private key');
  return files;
}

let processKeys: DispatchKeyFiles | undefined;
/**
 * One key pair for everything this test process starts, so an API and the daemons and gateways
 * started beside it agree without each test passing keys around.
 */
export function defaultDispatchKeys(): DispatchKeyFiles {
  processKeys ??= dispatchKeyFiles(join(tmpdir(), `fleettrace-dispatch-keys-${process.pid}`));
  return processKeys;
}
