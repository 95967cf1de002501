import { Injectable } from '@nestjs/common';
import type { AuthUser, UserDirectory } from '../auth';
import { NotFoundError } from '../common';
import { currentLock, LockLostError, WithLock } from '../lock';
import { CreateUserDto, UpdateUserDto } from './users.dto';
import { decoyHash, hashPassword, verifyPassword } from './passwords';
import { User, UserCredentials, UsersRepository } from './users.repository';

function toAuthUser(u: UserCredentials): AuthUser {
  return { id: u.id, email: u.email, roles: [u.role] };
}

/**
 * Users: profiles, their lock-protected updates, and the application's user directory for the
 * auth module (credentials are verified here; auth never reads user storage).
 */
@Injectable()
export class UsersService implements UserDirectory {
  constructor(private readonly users: UsersRepository) {}

  async get(id: number): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundError('user', id);
    return user;
  }

  /** Whether user `id` exists (a cheaper read than {@link get}). */
  exists(id: number): Promise<boolean> {
    return this.users.exists(id);
  }

  /**
   * Throws NotFoundError (404) unless user `id` exists: for routes under `/api/users/:id` that
   * other modules serve (posts, followers).
   */
  async requireExists(id: number): Promise<void> {
    if (!(await this.users.exists(id))) throw new NotFoundError('user', id);
  }

  async create(dto: CreateUserDto): Promise<User> {
    return this.users.create({
      email: dto.email.toLowerCase(),
      name: dto.name,
      passwordHash: await hashPassword(dto.password),
    });
  }

  /** UserDirectory: one argon2id verification whether or not the email exists. */
  async verifyCredentials(email: string, password: string): Promise<AuthUser | null> {
    const user = await this.users.credentialsByEmail(email.trim().toLowerCase());
    const ok = await verifyPassword(user?.passwordHash ?? (await decoyHash()), password);
    return ok && user?.passwordHash ? toAuthUser(user) : null;
  }

  /** UserDirectory: the user behind a credential issued earlier. */
  async findUser(id: number): Promise<AuthUser | null> {
    const user = await this.users.credentialsById(id);
    return user ? toAuthUser(user) : null;
  }

  /**
   * A read-modify-write (the new `version` is computed here, not in SQL), so it runs under the
   * `user:{id}` lock — on this method, so no caller can skip it, and after the controller's
   * pipes, so invalid input never touches Redis. The lock's fencing token goes with the write,
   * which the database refuses if a newer holder has written since.
   */
  @WithLock({ key: 'user:{0}', ttl: 10_000 })
  async update(id: number, dto: UpdateUserDto): Promise<User> {
    const lock = currentLock();
    if (!lock) throw new Error('UsersService.update must run under its @WithLock');
    const version = await this.users.version(id);
    if (version === null) throw new NotFoundError('user', id);
    const user = await this.users.update(
      id,
      { email: dto.email?.toLowerCase(), name: dto.name },
      version + 1,
      lock.fencingToken,
    );
    if (user) return user;
    if ((await this.users.version(id)) === null) throw new NotFoundError('user', id);
    throw new LockLostError(lock.resource, 'a newer lock holder has written this user');
  }
}
