import { Injectable } from '@nestjs/common';
import { InvalidReferenceError } from '../common';
import { Database, PG, pgErrorCode } from '../database';

export interface Post {
  id: number;
  userId: number;
  title: string;
  content: string;
  createdAt: Date;
}

const COLUMNS = 'id, user_id AS "userId", title, content, created_at AS "createdAt"';

@Injectable()
export class PostsRepository {
  constructor(private readonly db: Database) {}

  async create(input: { userId: number; title: string; content: string }): Promise<Post> {
    try {
      const rows = await this.db.query<Post>(
        `INSERT INTO posts (user_id, title, content) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
        [input.userId, input.title, input.content],
      );
      return rows[0];
    } catch (err) {
      if (pgErrorCode(err) === PG.foreignKeyViolation)
        throw new InvalidReferenceError('userId', input.userId);
      throw err;
    }
  }

  async countByUser(userId: number): Promise<number> {
    const [{ n }] = await this.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM posts WHERE user_id = $1',
      [userId],
    );
    return n;
  }

  /** The newest posts of a user, newest first. */
  recentByUser(userId: number, limit: number): Promise<Post[]> {
    return this.db.query<Post>(
      `SELECT ${COLUMNS} FROM posts WHERE user_id = $1 ORDER BY id DESC LIMIT $2`,
      [userId, limit],
    );
  }
}
