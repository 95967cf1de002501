import { Injectable } from '@nestjs/common';
import { ConflictError } from '../common';
import { Database, PG, pgErrorCode } from '../database';

export interface User {
  id: number;
  email: string;
  name: string;
}

const COLUMNS = 'id, email, name';

@Injectable()
export class UsersRepository {
  constructor(private readonly db: Database) {}

  async findById(id: number): Promise<User | null> {
    const rows = await this.db.query<User>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  async exists(id: number): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 FROM users WHERE id = $1', [id]);
    return rows.length > 0;
  }

  async create(input: { email: string; name: string }): Promise<User> {
    try {
      const rows = await this.db.query<User>(
        `INSERT INTO users (email, name) VALUES ($1, $2) RETURNING ${COLUMNS}`,
        [input.email, input.name],
      );
      return rows[0];
    } catch (err) {
      throw mapUniqueEmail(err, input.email);
    }
  }

  async version(id: number): Promise<number | null> {
    const rows = await this.db.query<{ version: number }>(
      'SELECT version FROM users WHERE id = $1',
      [id],
    );
    return rows[0]?.version ?? null;
  }

  /**
   * Writes the given fields and `version`. With a fencing token, the write is refused (null)
   * when a holder with a higher token has written the row since; `null` also when the row is gone.
   */
  async update(
    id: number,
    patch: { email?: string; name?: string },
    version: number,
    fence?: number,
  ): Promise<User | null> {
    try {
      const rows = await this.db.query<User>(
        `UPDATE users SET email = COALESCE($2, email), name = COALESCE($3, name), version = $4,
                lock_fence = COALESCE($5, lock_fence), updated_at = now()
         WHERE id = $1 AND ($5::bigint IS NULL OR lock_fence IS NULL OR lock_fence <= $5)
         RETURNING ${COLUMNS}`,
        [id, patch.email ?? null, patch.name ?? null, version, fence ?? null],
      );
      return rows[0] ?? null;
    } catch (err) {
      throw mapUniqueEmail(err, patch.email);
    }
  }
}

function mapUniqueEmail(err: unknown, email?: string): unknown {
  return pgErrorCode(err) === PG.uniqueViolation
    ? new ConflictError(`a user with email ${email} already exists`, { field: 'email' })
    : err;
}
