import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DISPATCH_SIGNATURE_FIELD, RunDispatch, dispatchSigningPayload, programText } from '@fleettrace/contracts';

/** Why a host will not run a dispatch; nothing of it was started. */
export class DispatchRefused extends Error {
  constructor(
    readonly reason: string,
    /** The run the dispatch claimed to be, if it named one (unverified when the signature failed). */
    readonly runId: string | undefined,
  ) {
    super(`dispatch refused: ${reason}`);
  }
}

/**
 * During a rolling upgrade an API older than this host (before whole run limits and signatures)
 * sends dispatches without either. The host refuses them, saying why, rather than make up limits:
 * limits are resolved once, in the API, and nothing on the way defaults them again.
 */
export const OLDER_API = 'it is not signed and carries no run limits: it comes from an API older than this host; upgrade the API and run the job again';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The one check every agent of a host (the node daemon, the SSH gateway) makes of a job taken from
 * the host's queue before anything of it runs: the API's Ed25519 signature over the whole
 * dispatch, then that it is for this host, for the run it was queued as, not past its end
 * deadline, and that its program is the one the API hashed. Whoever else can write to the queue
 * (a leaked Redis credential, another host) can make the host run nothing.
 */
export class DispatchVerifier {
  constructor(
    private readonly publicKey: KeyObject,
    private readonly now: () => number = Date.now,
  ) {
    if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error(`the dispatch key must be an Ed25519 public key, not ${publicKey.asymmetricKeyType}`);
  }

  /** From a PEM file (FLEETTRACE_DISPATCH_PUBLIC_KEY_FILE); a private key's file yields its public half. */
  static fromFile(path: string): DispatchVerifier {
    return new DispatchVerifier(createPublicKey(readFileSync(path)));
  }

  verify(hostId: string, queuedAs: string | undefined, data: unknown): RunDispatch {
    const raw = (data !== null && typeof data === 'object' && !Array.isArray(data) ? data : {}) as Record<string, unknown>;
    const claimedRun = typeof raw.runId === 'string' && UUID.test(raw.runId) ? raw.runId : undefined;
    const refuse = (reason: string): never => {
      throw new DispatchRefused(reason, claimedRun);
    };
    const signature = raw[DISPATCH_SIGNATURE_FIELD];
    if (typeof signature !== 'string' || signature === '') refuse(raw.limits === undefined ? OLDER_API : 'it is not signed');
    let valid = false;
    try {
      valid = verify(null, dispatchSigningPayload(raw), this.publicKey, Buffer.from(signature as string, 'base64'));
    } catch {
      valid = false;
    }
    if (!valid) refuse("its signature is not the API's");
    const parsed = RunDispatch.safeParse(raw);
    if (!parsed.success) refuse(`it is malformed: ${parsed.error!.issues[0].path.join('.')}: ${parsed.error!.issues[0].message}`);
    const dispatch = parsed.data!;
    if (dispatch.hostId !== hostId) refuse(`it is for host ${dispatch.hostId}, not ${hostId}`);
    if (dispatch.runId !== queuedAs) refuse(`it is for run ${dispatch.runId} but was queued as ${queuedAs}`);
    if (this.now() > dispatch.endDeadline) refuse(`its end deadline ${new Date(dispatch.endDeadline).toISOString()} has passed`);
    const sha = createHash('sha256').update(programText(dispatch.program), 'utf8').digest('hex');
    if (sha !== dispatch.programSha256) refuse('its program does not match the program hash the API signed');
    return dispatch;
  }
}
