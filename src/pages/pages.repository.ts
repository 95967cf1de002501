import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';

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

  async findById(id: number): Promise<Page | null> {
    const rows = await this.db.query<Page>(
      'SELECT id, slug, title, body, views::int AS views FROM pages WHERE id = $1',
      [id],
    );
    return rows[0] ?? null;
  }
}
