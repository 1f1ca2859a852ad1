import { Inject, Injectable } from '@nestjs/common';
import type { ApiScope } from '@fleettrace/contracts';
import { DatabaseRepository, type Db, type TxClient } from './database.repository';

export interface TokenRecord {
  id: string;
  name: string;
  scopes: ApiScope[];
  hostSelector: string | null;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  revokedBy: string | null;
  lastUsedAt: Date | null;
}

interface TokenRow {
  id: string;
  name: string;
  scopes: string[];
  host_selector: string | null;
  created_by: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  revoked_by: string | null;
  last_used_at: Date | null;
}

const COLUMNS = 'id, name, scopes, host_selector, created_by, created_at, expires_at, revoked_at, revoked_by, last_used_at';

function toRecord(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes as ApiScope[],
    hostSelector: row.host_selector,
    createdBy: row.created_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    revokedBy: row.revoked_by,
    lastUsedAt: row.last_used_at,
  };
}

@Injectable()
export class ApiTokenRepository {
  constructor(@Inject(DatabaseRepository) private readonly database: DatabaseRepository) {}

  /**
   * The bootstrap token's row, keyed by its id: a changed FLEETTRACE_ADMIN_TOKEN replaces the
   * HMAC, which revokes the previous secret. It is never expired or revoked through the API.
   */
  async upsertBootstrap(id: string, secretHmac: string): Promise<void> {
    await this.database.pool.query(
      `INSERT INTO api_tokens (id, name, secret_hmac, scopes, created_by) VALUES ($1, $1, $2, '{admin}', 'configuration')
       ON CONFLICT (id) DO UPDATE SET secret_hmac = excluded.secret_hmac, created_at = now()
       WHERE api_tokens.secret_hmac <> excluded.secret_hmac`,
      [id, secretHmac],
    );
  }

  async insert(db: Db, token: Omit<TokenRecord, 'revokedAt' | 'revokedBy' | 'lastUsedAt'>, secretHmac: string): Promise<void> {
    await db.query(
      `INSERT INTO api_tokens (id, name, secret_hmac, scopes, host_selector, created_by, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [token.id, token.name, secretHmac, token.scopes, token.hostSelector, token.createdBy, token.createdAt, token.expiresAt],
    );
  }

  async findBySecretHmac(secretHmac: string): Promise<TokenRecord | undefined> {
    const { rows } = await this.database.pool.query<TokenRow>(`SELECT ${COLUMNS} FROM api_tokens WHERE secret_hmac = $1`, [secretHmac]);
    return rows[0] && toRecord(rows[0]);
  }

  async findById(id: string, db: TxClient): Promise<TokenRecord | undefined> {
    const { rows } = await db.query<TokenRow>(`SELECT ${COLUMNS} FROM api_tokens WHERE id = $1`, [id]);
    return rows[0] && toRecord(rows[0]);
  }

  /** Newest first; revoked tokens included, so an operator sees what was revoked and when. */
  async list(): Promise<TokenRecord[]> {
    const { rows } = await this.database.pool.query<TokenRow>(`SELECT ${COLUMNS} FROM api_tokens ORDER BY created_at DESC, id DESC`);
    return rows.map(toRecord);
  }

  /** Revokes once: false when it already was (the first revocation's time and author stay). */
  async revoke(db: Db, id: string, by: string, at: Date): Promise<boolean> {
    const { rowCount } = await db.query('UPDATE api_tokens SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL', [id, at, by]);
    return (rowCount ?? 0) > 0;
  }

  /** At most once a minute per token, so authentication does not write on every request. */
  async touch(id: string, at: Date): Promise<void> {
    await this.database.pool.query(
      `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - interval '1 minute')`,
      [id, at],
    );
  }
}
