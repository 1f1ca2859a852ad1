import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultRunLimits, dispatchSigningPayload } from '@fleettrace/contracts';
import { signDispatch } from './dispatch-signer';

describe('signDispatch', () => {
  it("adds the program's sha256 and an Ed25519 signature over everything else, hash included", () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signed = signDispatch(privateKey, {
      runId: '5b0f8e55-4c66-4e0b-9d43-0d7d9e0a1c01',
      jobId: '5b0f8e55-4c66-4e0b-9d43-0d7d9e0a1c02',
      hostId: 'web-1',
      program: { kind: 'c', source: 'int x;', outputs: [{ kind: 'counts', map: 'counts', unit: 'calls' }] },
      params: {},
      durationSeconds: 5,
      startDeadline: 1,
      endDeadline: 2,
      limits: defaultRunLimits(),
    });
    expect(signed.programSha256).toBe(createHash('sha256').update('int x;').digest('hex'));
    expect(verify(null, dispatchSigningPayload(signed), publicKey, Buffer.from(signed.signature, 'base64'))).toBe(true);
    expect(verify(null, dispatchSigningPayload({ ...signed, hostId: 'db-1' }), publicKey, Buffer.from(signed.signature, 'base64'))).toBe(false);
  });
});
