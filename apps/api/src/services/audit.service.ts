import { Inject, Injectable } from '@nestjs/common';
import type { AuditPage } from '@fleettrace/contracts';
import { AuditRepository } from '../repositories/audit.repository';
import { decodeAuditCursor, encodeAuditCursor, type AuditListQuery } from '../dtos/audit.dto';

@Injectable()
export class AuditService {
  constructor(@Inject(AuditRepository) private readonly audit: AuditRepository) {}

  async list(query: AuditListQuery): Promise<AuditPage> {
    const before = query.cursor === undefined ? undefined : decodeAuditCursor(query.cursor);
    const rows = await this.audit.list(
      { actor: query.actor, action: query.action, subject: query.subject, address: query.address, since: query.since, until: query.until },
      query.limit + 1,
      before,
    );
    const items = rows.slice(0, query.limit);
    const last = items[items.length - 1];
    return {
      items: items.map((r) => ({
        id: String(r.id),
        at: r.at.toISOString(),
        actor: r.actor,
        address: r.address,
        action: r.action,
        subject: r.subject,
        programSha256: r.programSha256,
        detail: r.detail,
      })),
      nextCursor: rows.length > query.limit && last ? encodeAuditCursor(last.id) : null,
    };
  }
}
