import { createHash, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { defaultRunLimits, dispatchSigningPayload, programText, RUN_JOB_NAME, type RunDispatch } from '@fleettrace/contracts';
import { DispatchVerifier, OLDER_API } from './dispatch-verifier';
import { runJobProcessor } from './run-queue.repository';

const api = generateKeyPairSync('ed25519');
const verifier = new DispatchVerifier(api.publicKey);

function signed(): RunDispatch {
  const unsigned = {
    runId: randomUUID(),
    jobId: randomUUID(),
    hostId: 'h1',
    program: 'execsnoop',
    params: {},
    durationSeconds: 5,
    startDeadline: Date.now() + 30_000,
    endDeadline: Date.now() + 60_000,
    limits: defaultRunLimits(),
  };
  const withHash = { ...unsigned, programSha256: createHash('sha256').update(programText(unsigned.program)).digest('hex') };
  return { ...withHash, signature: sign(null, dispatchSigningPayload(withHash), api.privateKey).toString('base64') };
}

describe('runJobProcessor', () => {
  it('hands a verified dispatch to the handler, whose final state is the job result', async () => {
    const run = signed();
    const handler = vi.fn(async () => 'succeeded' as const);
    const refused = vi.fn(async () => undefined);
    await expect(runJobProcessor('host.h1', 'h1', verifier, handler, refused)({ id: run.runId, name: RUN_JOB_NAME, data: run } as never)).resolves.toEqual({
      state: 'succeeded',
    });
    expect(handler).toHaveBeenCalledWith(run);
    expect(refused).not.toHaveBeenCalled();
  });

  it("reports an older API's dispatch (a rolling upgrade) as refused with the cause, runs nothing, and fails the job", async () => {
    // What an API from before whole run limits and signatures sends.
    const olderApiDispatch: Record<string, unknown> & { runId: string } = { ...signed() };
    for (const field of ['limits', 'signature', 'programSha256']) delete olderApiDispatch[field];
    const handler = vi.fn(async () => 'succeeded' as const);
    const refused = vi.fn(async () => undefined);
    await expect(runJobProcessor('host.h1', 'h1', verifier, handler, refused)({ id: olderApiDispatch.runId, name: RUN_JOB_NAME, data: olderApiDispatch } as never)).rejects.toThrow(
      `dispatch refused: ${OLDER_API}`,
    );
    expect(handler).not.toHaveBeenCalled();
    expect(refused).toHaveBeenCalledWith(expect.objectContaining({ reason: OLDER_API, runId: olderApiDispatch.runId }), olderApiDispatch.runId);
  });

  it('fails a job that is not a run without reporting a refusal', async () => {
    const refused = vi.fn(async () => undefined);
    await expect(runJobProcessor('host.h1', 'h1', verifier, vi.fn(), refused)({ id: 'x', name: 'other', data: {} } as never)).rejects.toThrow('no handler for job "other" in host.h1');
    expect(refused).not.toHaveBeenCalled();
  });
});
