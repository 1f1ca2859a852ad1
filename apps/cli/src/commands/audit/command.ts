import { FIELDS_OPTION, FORMAT_OPTION } from '../../options';
import type { CommandSpec } from '../../spec';
import { AUDIT_PAGE, pagingOptions } from '../jobs/paging-options';

export const auditCommand: CommandSpec = {
  name: 'audit',
  description: 'The audit trail, newest first: every mutation and refused authentication, with who, from where and the program hash. Needs an admin token.',
  options: [
    { name: 'since', argument: 'TIME', description: 'only entries since TIME: 2026-12-04T10:00:00Z, or a time ago like 2h' },
    { name: 'until', argument: 'TIME', description: 'only entries before TIME' },
    { name: 'action', argument: 'ACTION', description: 'only this action ("job.create") or family ("token.")' },
    { name: 'actor', argument: 'TOKEN', description: 'only entries by this token id' },
    ...pagingOptions('entries', AUDIT_PAGE.max, AUDIT_PAGE.fallback),
    FORMAT_OPTION,
    FIELDS_OPTION,
  ],
  examples: [{ description: 'who created or revoked tokens today', command: 'fleettrace audit --action token. --since 24h' }],
  load: async () => (await import('./audit')).audit,
};
