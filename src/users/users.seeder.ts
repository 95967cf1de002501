import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig, InjectConfig } from '../config';
import { hashPassword } from './passwords';
import { UsersRepository } from './users.repository';

/** The demo users the database module seeds outside production (`seedDemoData`), with their roles. */
const SEEDED = [
  { email: 'ada@example.com', role: 'admin' },
  { email: 'alan@example.com', role: 'user' },
  { email: 'grace@example.com', role: 'user' },
];

/**
 * Outside production, gives the seeded demo users the development password (`SEED_PASSWORD`)
 * and user 1 (Ada) the `admin` role, once: only users that have no password yet (when none
 * lacks one, nothing is hashed). Never runs in production, where users are never seeded.
 */
@Injectable()
export class UsersSeeder implements OnApplicationBootstrap {
  constructor(
    private readonly users: UsersRepository,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.isProduction) return;
    // Hash only when someone needs it: an argon2id hash is about 50 ms of CPU on every start.
    const pending = new Set(await this.users.withoutPassword(SEEDED.map((u) => u.email)));
    if (pending.size === 0) return;
    const hash = await hashPassword(this.config.seedPassword);
    let n = 0;
    for (const u of SEEDED)
      if (pending.has(u.email) && (await this.users.seedCredentials(u.email, hash, u.role))) n++;
    if (n > 0)
      new Logger('Users').log(`gave ${n} seeded users the development password (SEED_PASSWORD)`);
  }
}
