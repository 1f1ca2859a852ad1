/**
 * What an API token may do. `admin` implies every other scope. A job's create scope depends on its
 * program's kind (see `jobCreateScope`), so a catalog-only token cannot run arbitrary code.
 * docs/security.md lists which route needs which.
 */
export const API_SCOPES = [
  'jobs:read',
  'jobs:catalog',
  'jobs:bpftrace',
  'jobs:c',
  /** With jobs:c: XDP and tc programs too (program-policy.ts). */
  'jobs:c:network',
  /** With jobs:c: LSM, struct_ops and fmod_ret programs too (program-policy.ts). */
  'jobs:c:hooks',
  'jobs:cancel',
  'schedules:write',
  'hosts:write',
  'admin',
] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** The scope creating a job of this program needs: catalog programs are vetted, scripts and C are code. */
export function jobCreateScope(program: string | { kind: 'bpftrace' | 'c' }): ApiScope {
  if (typeof program === 'string') return 'jobs:catalog';
  return program.kind === 'bpftrace' ? 'jobs:bpftrace' : 'jobs:c';
}

/** Whether a token with `granted` holds `needed`. */
export function hasScope(granted: readonly ApiScope[], needed: ApiScope): boolean {
  return granted.includes('admin') || granted.includes(needed);
}
