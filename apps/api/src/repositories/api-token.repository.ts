import { Inject, Injectable } from '@nestjs/common';
import { DatabaseRepository } from './database.repository';

@Injectable()
export class ApiTokenRepository {
  constructor(@Inject(DatabaseRepository) private readonly database: DatabaseRepository) {}

  /** Sets the hash a named token is known by; replacing it revokes the previous secret. */
  async upsert(name: string, tokenHash: string): Promise<void> {
    await this.database.pool.query(
      `INSERT INTO api_tokens (name, token_hash) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash, created_at = now()
       WHERE api_tokens.token_hash <> excluded.token_hash`,
      [name, tokenHash],
    );
  }

  async findNameByHash(tokenHash: string): Promise<string | undefined> {
    const { rows } = await this.database.pool.query<{ name: string }>('SELECT name FROM api_tokens WHERE token_hash = $1', [
      tokenHash,
    ]);
    return rows[0]?.name;
  }
}
