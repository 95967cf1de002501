import { Injectable } from '@nestjs/common';
import { Database } from '../database';

export interface Page {
  id: number;
  slug: string;
  title: string;
  body: string;
  views: number;
}

@Injectable()
export class PagesRepository {
  constructor(private readonly db: Database) {}

  /**
   * The page and, in the same snapshot, whether counter batch `batchId` is already in `views`
   * (so the live view count neither misses nor double-counts a batch being flushed).
   */
  async findWithBatch(
    id: number,
    batchId: string | null,
    appliedSql: string,
  ): Promise<(Page & { batchApplied: boolean }) | null> {
    const rows = await this.db.query<Page & { batchApplied: boolean }>(
      `SELECT id, slug, title, body, views::int AS views,
              CASE WHEN $2::text IS NULL THEN false ELSE ${appliedSql} END AS "batchApplied"
       FROM pages WHERE id = $1`,
      [id, batchId],
    );
    return rows[0] ?? null;
  }

  async findById(id: number): Promise<Page | null> {
    const rows = await this.db.query<Page>(
      'SELECT id, slug, title, body, views::int AS views FROM pages WHERE id = $1',
      [id],
    );
    return rows[0] ?? null;
  }
}
