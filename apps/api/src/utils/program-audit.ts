import { createHash } from 'node:crypto';
import type { ProgramSpec } from '@fleettrace/contracts';

export interface ProgramAudit {
  /** sha256 of a bpftrace script or a C source; null for catalog programs, which the name and parameters say. */
  programSha256: string | null;
  /** What the audit record's detail says of the program. */
  detail: Record<string, unknown>;
}

/**
 * What ran, as the audit trail keeps it: a catalog program's name and parameters; a bpftrace
 * script's text (it is short and what an investigator reads first) and hash; a C source's hash
 * only, since the job itself keeps the source and the hash proves which one it was.
 */
export function programAudit(program: ProgramSpec, params: Record<string, unknown>): ProgramAudit {
  if (typeof program === 'string') return { programSha256: null, detail: { program, params } };
  if (program.kind === 'bpftrace') {
    const sha = sha256(program.script);
    return { programSha256: sha, detail: { program: 'bpftrace', script: program.script, scriptSha256: sha } };
  }
  const sha = sha256(program.source);
  return { programSha256: sha, detail: { program: 'c', sourceSha256: sha } };
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
