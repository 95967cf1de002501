import { Injectable } from '@nestjs/common';
import { ConflictError } from '../common';
import { Database, PG, pgErrorCode } from '../database';

export interface User {
  id: number;
  email: string;
  name: string;
}

/** What authentication needs of a user (never returned by the API). */
export interface UserCredentials {
  id: number;
  email: string;
  role: string;
  passwordHash: string | null;
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

  async create(input: { email: string; name: string; passwordHash: string }): Promise<User> {
    try {
      const rows = await this.db.query<User>(
        `INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
        [input.email, input.name, input.passwordHash],
      );
      return rows[0];
    } catch (err) {
      throw mapUniqueEmail(err, input.email);
    }
  }

  async credentialsByEmail(email: string): Promise<UserCredentials | null> {
    const rows = await this.db.query<UserCredentials>(
      `SELECT id, email, role, password_hash AS "passwordHash" FROM users WHERE email = $1`,
      [email],
    );
    return rows[0] ?? null;
  }

  async credentialsById(id: number): Promise<UserCredentials | null> {
    const rows = await this.db.query<UserCredentials>(
      `SELECT id, email, role, password_hash AS "passwordHash" FROM users WHERE id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  /** Development seeding: which of these users exist and have no password yet. */
  async withoutPassword(emails: readonly string[]): Promise<string[]> {
    const rows = await this.db.query<{ email: string }>(
      `SELECT email FROM users WHERE email = ANY($1::text[]) AND password_hash IS NULL`,
      [emails],
    );
    return rows.map((r) => r.email);
  }

  /** Development seeding: a password and a role for a seeded user that has none yet. */
  async seedCredentials(email: string, passwordHash: string, role: string): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE users SET password_hash = $2, role = $3 WHERE email = $1 AND password_hash IS NULL RETURNING id`,
      [email, passwordHash, role],
    );
    return rows.length > 0;
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
