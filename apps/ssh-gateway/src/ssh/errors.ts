/**
 * Why a host could not be reached over SSH, one class per cause, each message starting with the
 * words a person (and a test) looks for. `final`: trying again will not mend it, so a first probe
 * that fails this way refuses the enrolment.
 */
export class SshError extends Error {
  readonly final: boolean = false;
}

export class HostKeyMismatchError extends SshError {
  override readonly final = true;
  constructor(readonly expected: string, readonly presented: string | undefined) {
    super(`host key mismatch: expected ${expected}, the host presented ${presented ?? 'a key that changed while connecting'}`);
  }
}

export class AuthRefusedError extends SshError {
  override readonly final = true;
  constructor(user: string, address: string, detail: string) {
    super(`authentication refused: ${address} did not accept ${user}'s key (${detail})`);
  }
}

export class UnreachableError extends SshError {
  constructor(address: string, detail: string) {
    super(`unreachable: ${address}: ${detail}`);
  }
}

export class NoRootError extends SshError {
  override readonly final = true;
  constructor(user: string, address: string) {
    super(`no root: ${user} on ${address} is not root and has no passwordless sudo (sudo -n), and BPF needs root`);
  }
}

export class NoKeyError extends SshError {
  override readonly final = true;
  constructor(name: string, keyDir: string | undefined) {
    super(`no private key for ${name}: ${keyDir ? `${keyDir} has neither ${name} nor default` : 'FLEETTRACE_SSH_KEY_DIR is not set'}, and SSH_AUTH_SOCK names no agent`);
  }
}
