import { Injectable } from '@nestjs/common';
import { Database } from '../database';
import { currentLock } from '../lock';

export interface DailyReport {
  date: string;
  users: number;
  posts: number;
  pages: number;
  generatedAt: string;
  fencingToken: number | null;
}

export const REPORT_WORK_MS = 1000;

@Injectable()
export class ReportsService {
  constructor(private readonly db: Database) {}

  /** Stands in for an expensive job (at least a second); stops early if the lock is lost. */
  async daily(): Promise<DailyReport> {
    const lock = currentLock();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, REPORT_WORK_MS);
      lock?.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(lock.signal.reason as Error);
      });
    });
    const [row] = await this.db.query<{ users: number; posts: number; pages: number }>(
      `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM posts) AS posts,
              (SELECT count(*)::int FROM pages) AS pages`,
    );
    const now = new Date();
    return {
      date: now.toISOString().slice(0, 10),
      ...row,
      generatedAt: now.toISOString(),
      fencingToken: lock?.fencingToken ?? null,
    };
  }
}
