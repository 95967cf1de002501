import { Injectable } from '@nestjs/common';
import { Database } from '../database';
import type { Queryable } from '../database';

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

  /** `db`: where to read (default the database; a transaction to read in its snapshot). */
  async findById(id: number, db: Queryable = this.db): Promise<Page | null> {
    const rows = await db.query<Page>(
      'SELECT id, slug, title, body, views::int AS views FROM pages WHERE id = $1',
      [id],
    );
    return rows[0] ?? null;
  }
}
