import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dispatchSigningPayload, programText, type RunDispatch, type UnsignedRunDispatch } from '@fleettrace/contracts';

/**
 * The API's half of dispatch signing (libs/host-agent DispatchVerifier is the host's): the
 * program's hash, then an Ed25519 signature over every field of the dispatch, the hash included.
 */
export function signDispatch(key: KeyObject, unsigned: Omit<UnsignedRunDispatch, 'programSha256'>): RunDispatch {
  const withHash: UnsignedRunDispatch = { ...unsigned, programSha256: createHash('sha256').update(programText(unsigned.program), 'utf8').digest('hex') };
  const signature = sign(null, dispatchSigningPayload(withHash), key).toString('base64');
  return { ...withHash, signature };
}

/** FLEETTRACE_DISPATCH_SIGNING_KEY_FILE: a PEM Ed25519 private key (openssl genpkey -algorithm ed25519). */
export function readDispatchSigningKey(path: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path));
  } catch (error) {
    throw new Error(`FLEETTRACE_DISPATCH_SIGNING_KEY_FILE: cannot read a private key from ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`FLEETTRACE_DISPATCH_SIGNING_KEY_FILE: ${path} holds a ${key.asymmetricKeyType} key, not ed25519`);
  return key;
}
