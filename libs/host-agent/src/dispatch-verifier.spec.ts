import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, defaultRunLimits, dispatchSigningPayload, programText, type RunDispatch } from '@fleettrace/contracts';
import { DispatchRefused, DispatchVerifier, OLDER_API } from './dispatch-verifier';

/** What the API's signDispatch (apps/api utils/dispatch-signer.ts) does, from the same contract. */
function signDispatch(key: KeyObject, dispatch: Record<string, unknown> & { program: RunDispatch['program'] }): RunDispatch {
  const withHash = { ...dispatch, programSha256: createHash('sha256').update(programText(dispatch.program)).digest('hex') };
  return { ...withHash, signature: sign(null, dispatchSigningPayload(withHash), key).toString('base64') } as RunDispatch;
}

const api = generateKeyPairSync('ed25519');
const impostor = generateKeyPairSync('ed25519');
const NOW = Date.parse('2030-01-01T00:00:00Z');
const runId = '5b0f8e55-4c66-4e0b-9d43-0d7d9e0a1c01';
const unsigned = {
  runId,
  jobId: '5b0f8e55-4c66-4e0b-9d43-0d7d9e0a1c02',
  hostId: 'web-1',
  program: { kind: 'bpftrace' as const, script: 'BEGIN { exit(); }' },
  params: {},
  durationSeconds: 5,
  startDeadline: NOW + 30_000,
  endDeadline: NOW + 60_000,
  limits: defaultRunLimits(),
};
const verifier = new DispatchVerifier(api.publicKey, () => NOW);

function refusal(data: unknown, hostId = 'web-1', queuedAs = runId): DispatchRefused {
  try {
    verifier.verify(hostId, queuedAs, data);
  } catch (error) {
    if (error instanceof DispatchRefused) return error;
    throw error;
  }
  throw new Error('the dispatch was accepted');
}

describe('signed dispatches', () => {
  it('a dispatch the API signed passes the host check as it travels (a JSON round trip), with the hash of its program', () => {
    const signed = signDispatch(api.privateKey, unsigned);
    expect(signed.programSha256).toBe(createHash('sha256').update('BEGIN { exit(); }').digest('hex'));
    expect(verifier.verify('web-1', runId, JSON.parse(JSON.stringify(signed)))).toEqual(signed);
  });

  it('covers every field, including ones this host does not know (a later `policy`)', () => {
    const withPolicy = signDispatch(api.privateKey, { ...unsigned, policy: { programKinds: ['tracepoint'], deniedHelpers: ['bpf_send_signal'] } });
    expect(() => verifier.verify('web-1', runId, withPolicy)).not.toThrow();
    expect(refusal({ ...withPolicy, policy: { programKinds: ['tracepoint'], deniedHelpers: [] } }).reason).toBe("its signature is not the API's");
    expect(refusal({ ...withPolicy, durationSeconds: 3600 }).reason).toBe("its signature is not the API's");
  });

  it('refuses, saying why, the dispatch of an API older than this host (a rolling upgrade: no signature, no run limits)', () => {
    const olderApiDispatch: Record<string, unknown> = { ...unsigned };
    delete olderApiDispatch.limits;
    expect(refusal(olderApiDispatch)).toMatchObject({ reason: OLDER_API, runId });
  });

  it.each([
    ['unsigned', () => ({ ...signDispatch(api.privateKey, unsigned), signature: undefined }), 'it is not signed'],
    ['signed by another key', () => signDispatch(impostor.privateKey, unsigned), "its signature is not the API's"],
    ['a garbage signature', () => ({ ...signDispatch(api.privateKey, unsigned), signature: '!!' }), "its signature is not the API's"],
    ['another program under a signature', () => ({ ...signDispatch(api.privateKey, unsigned), program: { kind: 'bpftrace', script: 'BEGIN { system("id"); }' } }), "its signature is not the API's"],
  ])('refuses a dispatch %s', (_what, make, reason) => {
    const refused = refusal(make());
    expect(refused.reason).toBe(reason);
    expect(refused.runId).toBe(runId);
  });

  it("refuses another host's dispatch, one queued under another run's id, and one past its end deadline", () => {
    expect(refusal(signDispatch(api.privateKey, unsigned), 'db-1').reason).toBe('it is for host web-1, not db-1');
    expect(refusal(signDispatch(api.privateKey, unsigned), 'web-1', 'other').reason).toBe(`it is for run ${runId} but was queued as other`);
    expect(refusal(signDispatch(api.privateKey, { ...unsigned, endDeadline: NOW - 1 })).reason).toBe('its end deadline 2029-12-31T23:59:59.999Z has passed');
  });

  it('refuses a program that does not match the hash the API signed', () => {
    const wrongHash: Record<string, unknown> = { ...signDispatch(api.privateKey, unsigned), programSha256: 'f'.repeat(64) };
    delete wrongHash.signature;
    const forged = { ...wrongHash, signature: sign(null, dispatchSigningPayload(wrongHash), api.privateKey).toString('base64') };
    expect(refusal(forged).reason).toBe('its program does not match the program hash the API signed');
  });

  it('serialises canonically: key order never changes the bytes, undefined members are left out', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x', null], c: undefined } })).toBe(canonicalJson({ a: { d: [1, 'x', null] }, b: 1 }));
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });
});
