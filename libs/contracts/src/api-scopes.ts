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
